-- 0004 outbox notify origin. Why: every relay LISTENs on `els_outbox`, and an empty NOTIFY woke all of them
-- for every transaction of every replica that wrote outbox rows; with N replicas that made N claim
-- transactions per commit, of which N - 1 found nothing or a few rows (they are the writer's). The NOTIFY
-- now names the writing session's application_name (as the outbox's origin column does); a relay claims at
-- once for its own replica's writes and leaves a peer's to the peer, its polling picking up the rows of a
-- peer that stopped before publishing them.
-- Backward-compatible: replaces the trigger function only. Workers built before this migration wake on
-- every NOTIFY as before; workers built after it treat an empty payload (a writer whose session has no
-- application_name) as addressed to every relay.
CREATE OR REPLACE FUNCTION els_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('els_outbox', coalesce(current_setting('application_name', true), ''));
  RETURN NULL;
END;
$$;
