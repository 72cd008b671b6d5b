-- 0003 outbox origin. Why: an operator (and the distributed suite) must be able to tell which replica made
-- the state change an event announces; the relay that publishes it may be another. Every outbox row
-- records the application_name of the session that wrote it (the worker names its sessions
-- els-worker-<instance id>), and the relay publishes it as the x-els-origin header.
-- Backward-compatible and instant: the column is added without a default (no rewrite, existing rows stay
-- null rather than taking the migrating session's name), then the default applies to new rows only.
-- Workers built before this migration keep writing rows; theirs carry their own application_name too.
ALTER TABLE "outbox" ADD COLUMN "origin" text;
--> statement-breakpoint
ALTER TABLE "outbox" ALTER COLUMN "origin" SET DEFAULT current_setting('application_name', true);
