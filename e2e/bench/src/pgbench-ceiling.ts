import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@els/coordination/testing';

/**
 * The PostgreSQL ceiling of this machine for the slot-claim transaction, measured with pgbench against the
 * real schema: one slot per transaction (claim + outbox row, durable commit) and a batched variant that
 * claims `BATCH_ROWS` slots and writes as many outbox rows per transaction.
 */

const BATCHES = 1000;
const SLOTS_PER_BATCH = 500;
export const BATCH_ROWS = 100;

/** One transaction: claim up to `slots` free slots of a random batch with SKIP LOCKED, one outbox row each. */
const claimScript = (slots: number) => `\\set b random(1, ${BATCHES})
with free as (
  select essay_id from essay_states
  where batch_id = 'pb-' || :b and status = 'uploaded'
  order by slot_index limit ${slots} for update skip locked
), claimed as (
  update essay_states e set status = 'ready_for_processing', text_storage_id = md5(random()::text),
         file_upload_id = 'f', original_file_name = 'f', updated_at = now()
  from free where e.essay_id = free.essay_id returning e.essay_id
)
insert into outbox (event_id, topic, key, payload)
select gen_random_uuid(), 'bench', essay_id, jsonb_build_object('essay_id', essay_id) from claimed;
`;

const SINGLE = claimScript(1);
const BATCHED = claimScript(BATCH_ROWS);

export interface PgbenchResult {
  singleTps: number;
  batchedRowsPerSec: number;
  clients: number;
  durationS: number;
  synchronousCommit: string;
}

function pgbench(url: string, script: string, clients: number, durationS: number): number {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'els-pgbench-')), 'script.sql');
  fs.writeFileSync(file, script);
  const out = execFileSync(
    'pgbench',
    [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(clients),
      '-j',
      String(Math.min(clients, 2)),
      '-T',
      String(durationS),
      '-f',
      file,
      url,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  if (!match) throw new Error(`unexpected pgbench output:\n${out}`);
  return Number(match[1]);
}

export async function measurePostgresCeiling(clients = 4, durationS = 10): Promise<PgbenchResult> {
  const db = await createTestDatabase({ max: 2 });
  try {
    const seed = async () => {
      await db.sql`truncate outbox, essay_states, batches cascade`;
      await db.sql`
        insert into batches (batch_id, expected_count, course_code, user_id, correlation_id, registration_event_id)
        select 'pb-' || b, ${SLOTS_PER_BATCH}, 'ENG5', 'u', gen_random_uuid(), gen_random_uuid()
        from generate_series(1, ${BATCHES}) b`;
      await db.sql`
        insert into essay_states (essay_id, batch_id, slot_index)
        select 'pb-' || b || '-' || s, 'pb-' || b, s
        from generate_series(1, ${BATCHES}) b, generate_series(1, ${SLOTS_PER_BATCH}) s`;
      await db.sql`vacuum analyze essay_states`;
    };
    const [setting] = await db.sql<Array<{ synchronous_commit: string }>>`show synchronous_commit`;
    // Rows actually claimed, counted in the database: a transaction that drew an exhausted batch claims
    // fewer (or no) rows and must not count as a full one.
    const claimedRows = async () =>
      Number((await db.sql<Array<{ n: number }>>`select count(*)::int as n from outbox`)[0]?.n ?? 0);
    await seed();
    pgbench(db.url, SINGLE, clients, durationS);
    const singleRows = await claimedRows();
    await seed();
    pgbench(db.url, BATCHED, clients, durationS);
    const batchedRows = await claimedRows();
    return {
      singleTps: Math.round(singleRows / durationS),
      batchedRowsPerSec: Math.round(batchedRows / durationS),
      clients,
      durationS,
      synchronousCommit: setting?.synchronous_commit ?? 'unknown',
    };
  } finally {
    await db.drop();
  }
}
