-- 0005 trace context. Why: the Python services trace with OpenTelemetry and read the W3C trace context
-- (traceparent, tracestate) from an envelope's metadata; every ELS output carries the context of the input
-- that caused it. The completion carries the registration's, and it may be written long after the
-- registration, by another replica, when the last slot resolves: the batch row keeps it. A text that
-- arrives before its registration waits in pending_content and is assigned by the registration's
-- transaction; its slot-assigned or excess event carries the text's own context, so the pending row keeps
-- it too. Null means the input carried none (or an invalid one).
-- Backward-compatible and instant: nullable columns without a default (no rewrite). Workers built before
-- this migration keep writing rows without a trace context; their outputs carry none.
ALTER TABLE "batches" ADD COLUMN "traceparent" text;--> statement-breakpoint
ALTER TABLE "batches" ADD COLUMN "tracestate" text;--> statement-breakpoint
ALTER TABLE "pending_content" ADD COLUMN "traceparent" text;--> statement-breakpoint
ALTER TABLE "pending_content" ADD COLUMN "tracestate" text;
