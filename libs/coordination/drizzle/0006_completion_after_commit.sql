-- 0006 completion after commit. Why: every content transaction used to add its resolved slots to its
-- batches' counter rows under their row locks, so the transactions of replicas working on the same batches
-- queued on those rows, and adding replicas added waiting rather than throughput. A batch is now completed
-- after the commit by the first transaction that finds every slot resolved and committed, which sets the
-- latch (`completed_at IS NULL` under the row lock) and writes the completion in one transaction; a
-- periodic sweep completes a batch whose last resolver stopped before it looked.
-- The latch no longer follows the counter, so the check that tied them is dropped; the counter column stays,
-- no longer written, for workers of 0005 and before. Those run safely beside newer ones during a rolling
-- upgrade: both latch through `completed_at`, an older worker's counter never reaches the slot count of a
-- batch a newer one helped fill, and the newer workers' sweep completes such a batch.
-- Backward-compatible: dropping a check constraint and a partial index on the small batches table (a
-- short SHARE lock while it builds).
ALTER TABLE "batches" DROP CONSTRAINT "batches_completed_only_when_resolved";--> statement-breakpoint
CREATE INDEX "batches_incomplete" ON "batches" USING btree ("batch_id") WHERE "batches"."completed_at" is null;