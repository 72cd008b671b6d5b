-- 0001 outbox notify trigger. Why: relays in every replica LISTEN on `els_outbox` and wake as soon as a
-- transaction that wrote outbox rows commits (NOTIFY is delivered at commit, never for a rolled-back
-- transaction), so publish latency does not depend on the polling interval. Polling stays as the fallback.
-- Backward-compatible: adds a function and a statement-level trigger; no table changes.
CREATE OR REPLACE FUNCTION els_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('els_outbox', '');
  RETURN NULL;
END;
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
--> statement-breakpoint
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION els_outbox_notify();
