-- 0002 deployment id and outbox pruning. Why: (1) the Redis pre-filter must never outrank the database
-- (invariant 9): its keys are scoped by an identity of the database, created here once per database, so
-- a database recreated empty (drop, create, migrate) starts with a fresh id and no "seen" marks. A physical
-- restore (base backup, point-in-time recovery, snapshot) brings the old row back: the restore procedure
-- rotates it (docs/guides/operate.md). (2) published outbox rows are pruned after a retention period
-- (invariant 12); the sweeper's range scan over old published rows needs an index on published_at.
-- Backward-compatible: adds a table and an index. Workers built before this migration keep running on
-- their old key scope (they only lose the pre-filter hits of the new scope); the index build locks outbox
-- writes for as long as it takes to index the published rows already there.
CREATE TABLE "els_deployment" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"deployment_id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "els_deployment_singleton" CHECK ("els_deployment"."singleton")
);
--> statement-breakpoint
INSERT INTO "els_deployment" DEFAULT VALUES;
--> statement-breakpoint
CREATE INDEX "outbox_published_at" ON "outbox" USING btree ("published_at") WHERE "outbox"."published_at" is not null;
