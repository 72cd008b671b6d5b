-- 0000 initial schema. Why: the slot inventory (essay_states with the partial unique index on
-- (batch_id, text_storage_id) that forbids one text in two slots), batches with the completion counter and
-- latch, pending content, excess reports, validation failures and the transactional outbox.
-- Backward-compatible: first migration.
CREATE TABLE "batches" (
	"batch_id" text PRIMARY KEY NOT NULL,
	"expected_count" integer NOT NULL,
	"course_code" text NOT NULL,
	"user_id" text NOT NULL,
	"class_id" text,
	"correlation_id" uuid NOT NULL,
	"registration_event_id" uuid NOT NULL,
	"resolved_count" integer DEFAULT 0 NOT NULL,
	"completed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "batches_resolved_within_expected" CHECK ("batches"."resolved_count" between 0 and "batches"."expected_count"),
	CONSTRAINT "batches_completed_only_when_resolved" CHECK ("batches"."completed_at" is null or "batches"."resolved_count" = "batches"."expected_count")
);
--> statement-breakpoint
CREATE TABLE "essay_states" (
	"essay_id" text PRIMARY KEY NOT NULL,
	"batch_id" text NOT NULL,
	"slot_index" integer NOT NULL,
	"status" text DEFAULT 'uploaded' NOT NULL,
	"text_storage_id" text,
	"file_upload_id" text,
	"original_file_name" text,
	"content_correlation_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "essay_states_text_iff_assigned" CHECK (("essay_states"."status" = 'ready_for_processing') = ("essay_states"."text_storage_id" is not null))
);
--> statement-breakpoint
CREATE TABLE "excess_reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"batch_id" text NOT NULL,
	"text_storage_id" text NOT NULL,
	"original_file_name" text NOT NULL,
	"correlation_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"topic" text NOT NULL,
	"key" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pending_content" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"batch_id" text NOT NULL,
	"text_storage_id" text NOT NULL,
	"file_upload_id" text NOT NULL,
	"original_file_name" text NOT NULL,
	"correlation_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "validation_failures" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"batch_id" text NOT NULL,
	"file_upload_id" text NOT NULL,
	"original_file_name" text NOT NULL,
	"validation_error_code" text NOT NULL,
	"correlation_id" uuid NOT NULL,
	"outcome" text NOT NULL,
	"essay_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "essay_states" ADD CONSTRAINT "essay_states_batch_id_batches_batch_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("batch_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "essay_states_batch_text_unique" ON "essay_states" USING btree ("batch_id","text_storage_id") WHERE "essay_states"."text_storage_id" is not null;--> statement-breakpoint
CREATE INDEX "essay_states_free_slots" ON "essay_states" USING btree ("batch_id","slot_index") WHERE "essay_states"."status" = 'uploaded';--> statement-breakpoint
CREATE INDEX "essay_states_batch" ON "essay_states" USING btree ("batch_id");--> statement-breakpoint
CREATE UNIQUE INDEX "excess_reports_batch_text_unique" ON "excess_reports" USING btree ("batch_id","text_storage_id");--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_event_id_unique" ON "outbox" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "outbox_unpublished" ON "outbox" USING btree ("next_attempt_at","id") WHERE "outbox"."published_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "pending_content_batch_text_unique" ON "pending_content" USING btree ("batch_id","text_storage_id");--> statement-breakpoint
CREATE UNIQUE INDEX "validation_failures_batch_upload_unique" ON "validation_failures" USING btree ("batch_id","file_upload_id");--> statement-breakpoint
CREATE INDEX "validation_failures_pending" ON "validation_failures" USING btree ("batch_id") WHERE "validation_failures"."outcome" = 'pending';