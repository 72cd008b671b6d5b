import path from 'node:path';
import type { FaultKind } from '../nemesis/fault-schedule';

/**
 * The mutation self-test's catalogue (docs/guides/testing.md): each mutant re-introduces one defect, as a
 * patch against the worker's sources, that breaks an invariant of docs/invariants.md (many re-create bugs the
 * original service had), a published contract or a metric. The runner applies one at a time to a
 * scratch copy of the tree, builds the worker there and runs the distributed scenarios (or the worker
 * integration tests) that should catch it against that build; every mutant must make the suite fail.
 *
 * Each patch is in `git diff` format with paths from the repository root, and opens with a header of plain
 * lines (`Mutant: <id>`, `Breaks: <invariant>`, what the defect is and which historic bug it re-creates)
 * that `git apply` ignores. `mutant-catalogue.test.ts` checks that every patch still applies.
 */

export interface Mutant {
  id: string;
  /** File name under e2e/distributed/mutants. */
  patch: string;
  /**
   * The promise the defect breaks: an invariant of docs/invariants.md as `invariant N (short name)`, or
   * `contract (…)` (docs/reference/contracts), `metrics (…)` (docs/reference/metrics.md) or `threshold (…)`
   * (a performance target the suite judges, docs/guides/testing.md). The patch header says the same.
   */
  invariant: string;
  /** The defect, in one sentence. */
  defect: string;
  /**
   * Distributed scenarios (ids of SCENARIO_NAMES) expected to catch it, the likeliest first: the runner
   * tries them in this order and stops at the first that fails. Empty only when `integrationTests` name
   * the tests that catch it (a defect no scenario's workload reaches); the nemesis is then not tried.
   */
  scenarios: number[];
  /**
   * Worker integration tests expected to catch it (files of jest.int.config.cjs, relative to
   * e2e/distributed/src), the likeliest first: for a defect that shows only under a condition no scenario
   * creates (a database slow enough to outlast the session timeout, a dead-letter topic that refuses
   * letters). The runner runs them before the scenarios, one file at a time, and stops at the first that
   * fails.
   */
  integrationTests?: string[];
  /**
   * In the CI subset: one fast scenario, or a worker integration test that fails within about a minute
   * against it, catches it on every run, whatever the seed.
   */
  ci: boolean;
  /**
   * The fault kinds scenario 7 draws from when it runs against this mutant (E2E_FAULTS): the faults that
   * expose a fault-only defect. Default: the CI profile's mix.
   */
  faults?: FaultKind[];
  /**
   * The profile its scenarios run under (default `ci`): `full` for a defect that shows only over a
   * sustained run, longer than the CI profile's (a leak needs thousands of events per replica).
   */
  profile?: 'ci' | 'full';
}

/** Absolute path of e2e/distributed/mutants, where the patches live. */
export const mutantsDir = path.resolve(__dirname, '..', '..', 'mutants');

const entry = (mutant: Omit<Mutant, 'patch'>): Mutant => ({ ...mutant, patch: `${mutant.id}.patch` });

/*
 * Why these scenarios. A mutant whose defect shows only under a race or a fault lists the scenarios where
 * that race or fault happens; those that show on every run of some scenario say so.
 * - Scenario 1 sends twenty copies of each text with fresh event ids (past the Redis filter), on distinct
 *   partitions, into a five-slot and a one-slot batch: copies collide in PostgreSQL on every run.
 * - Every scenario that registers batches redelivers each registration twice, once under a new event id.
 * - Scenario 3 has a validation failure in every batch; scenario 4 has fifteen texts more than slots.
 * - Scenario 7 is the random nemesis: it catches fault-only defects when its seed draws a fault that
 *   exposes them, so those mutants are not in the CI subset.
 * - A defect that needs a condition no scenario creates is caught by the worker integration test that
 *   creates it (src/worker-faults/): those mutants name the test and no scenario.
 */
export const MUTANTS: readonly Mutant[] = [
  entry({
    id: 'completion-plain-read',
    invariant: 'invariant 4 (exactly one completion)',
    defect:
      'Completion decided after the commit by a plain read of "no free slot left", without the latch, under a fresh event id: every replica that sees a full batch announces it.',
    // Deterministic in 4: every transaction that reports a text as excess finds the batch full.
    scenarios: [4, 3, 5],
    ci: true,
  }),
  entry({
    id: 'completion-before-last-commit',
    invariant: 'invariant 4 (exactly one completion)',
    defect:
      'The content transaction that takes the last claimable slot of a batch writes its completion before its commit, counting slots others claimed but have not committed as resolved: the completion misses their texts.',
    // Needs two replicas filling a batch's last slots at once: scenario 4 drives three replicas at the
    // same few batches with more texts than slots.
    scenarios: [4, 2, 1],
    ci: false,
  }),
  entry({
    id: 'completion-sweep-never-started',
    invariant: 'invariant 4 (exactly one completion)',
    defect:
      'The completion sweep is never started, so a full batch whose last resolver stopped before it looked, with nothing left to redeliver, is never announced.',
    // No scenario leaves such a batch on purpose: a replica killed between its commit and its look has its
    // input redelivered, and that handler completes the batch. The worker test leaves one.
    scenarios: [],
    integrationTests: ['worker-faults/batch-completion.int.test.ts'],
    ci: false,
  }),
  entry({
    id: 'completion-on-duplicate',
    invariant: 'invariant 4 (exactly one completion)',
    defect: 'A duplicate text of a complete batch writes the completion again, under a new event id.',
    // Deterministic in 1: nineteen fresh-id copies of each text arrive around and after the completion.
    scenarios: [1, 3],
    ci: false,
  }),
  entry({
    id: 'relay-new-event-id',
    invariant: 'invariant 5 (published with its stable event id)',
    defect:
      'The relay marks due outbox rows without claiming them (no SKIP LOCKED), so relays that read them together each publish them, each time under a fresh event id.',
    // Every relay wakes on the same NOTIFY and reads the same unclaimed rows; the later one waits for the
    // first one's row locks and then marks and publishes the rows again.
    scenarios: [2, 3],
    ci: true,
  }),
  entry({
    id: 'commit-before-db',
    invariant: 'invariant 6 (offset committed only after the transaction)',
    defect:
      'A content run whose transaction fails is logged and its offsets committed with the rest of the batch instead of being retried.',
    // Needs a database failure under load: a PostgreSQL crash or restart, a partition or reset between a
    // replica and PostgreSQL, or a pause that makes the others hit the lock timeout.
    scenarios: [7],
    ci: false,
    faults: ['postgres-crash', 'postgres-restart', 'net-blackhole', 'net-reset', 'replica-pause'],
  }),
  entry({
    id: 'redis-drops-retry',
    invariant: 'invariant 6 (no message skipped)',
    defect:
      'The Redis filter marks an event id seen (SET NX) when it is fetched, before its transaction commits, so a redelivery after a failure is skipped.',
    // Needs a redelivery of work that never committed: a replica killed mid-batch, or a rebalance or
    // stop during a retry.
    scenarios: [7],
    ci: false,
    faults: ['replica-kill', 'relay-kill', 'postgres-crash', 'rolling-restart', 'net-blackhole'],
  }),
  entry({
    id: 'locked-as-excess',
    invariant: 'invariant 2 (locked-but-free is not excess)',
    defect:
      'A text whose SKIP LOCKED claim finds every free slot locked by others is reported as excess instead of waiting for them.',
    // In 1, copies on other replicas wait on the slot the first copy holds.
    scenarios: [1, 3, 5],
    ci: false,
  }),
  entry({
    id: 'pending-stranded',
    invariant: 'invariant 7 (content before registration is applied)',
    defect:
      'Content of an unregistered batch is stored as pending without the shared batch lock and re-check, so a registration committing meanwhile strands it.',
    // Needs a text and its batch's registration handled at the same moment on two replicas.
    scenarios: [8],
    ci: false,
  }),
  entry({
    id: 'registration-redelivery-rejected',
    invariant: 'invariant 8 (redelivered registration acknowledged)',
    defect:
      'A registration whose essay ids exist in its own batch is a conflict, so a redelivered registration is dead-lettered.',
    scenarios: [2, 3, 8],
    ci: true,
  }),
  entry({
    id: 'validation-failure-no-completion',
    invariant: 'invariant 4 (exactly one completion)',
    defect:
      'A validation failure fails its slot without looking whether that completed the batch, so a batch whose last slot a failure resolves waits for the completion sweep.',
    // In 3 a failure is the last input of its batch only by chance, and a later duplicate text of that
    // batch makes its handler look; the worker test sends the failure after every text was assigned.
    scenarios: [3],
    integrationTests: ['worker-faults/batch-completion.int.test.ts'],
    ci: false,
  }),
  entry({
    id: 'slot-event-wrong-essay',
    invariant: 'invariant 5 (the event describes its state change)',
    defect:
      'The slot-assigned event names the slot read as next free before the SKIP LOCKED claim, not the slot the claim took.',
    // Shows when replicas claim slots of one batch at the same time, as they do in 2, 4 and 1.
    scenarios: [2, 4, 1],
    ci: false,
  }),
  entry({
    id: 'completion-wrong-pairs',
    invariant: 'invariant 5 (the event describes its state change)',
    defect:
      "The completion's essays_for_processing pairs the essays in slot order with the texts sorted by id.",
    // Texts arrive in random order, so slot order is sorted text order only by chance.
    scenarios: [2, 3, 4],
    ci: false,
  }),
  entry({
    id: 'no-unique-index',
    invariant: 'invariant 1 (a text takes at most one slot)',
    defect:
      'A new migration replaces the partial unique index on (batch_id, text_storage_id) with a plain one, so two claims of one text both commit.',
    // In 1, copies of one text race for the five slots of a batch.
    scenarios: [1, 3, 5],
    ci: false,
  }),
  entry({
    id: 'redis-down-fatal',
    invariant: 'invariant 9 (Redis is a pre-filter only)',
    defect:
      'A failed Redis lookup fails the fetched batch, so the consumer makes no progress while Redis is down.',
    scenarios: [5],
    ci: false,
  }),
  entry({
    id: 'id-byte-limit-removed',
    invariant: 'invariant 10 (no poison pill)',
    defect:
      'The contract limits ids to 512 UTF-16 code units instead of 512 bytes of UTF-8, so an id of 512 CJK characters reaches PostgreSQL.',
    // Scenario 9 sends the oversized-ids class from its second wave on: in the full profile, not in CI.
    scenarios: [9],
    ci: false,
  }),
  entry({
    id: 'claim-overwrites-slot',
    invariant: 'invariant 1 (a slot holds at most one text)',
    defect:
      "The batched claim locks a batch's slots without status = 'uploaded', so it overwrites slots that already hold a text.",
    scenarios: [2, 4],
    ci: false,
  }),
  entry({
    id: 'read-only-dead-lettered',
    invariant: 'invariant 6 (unavailability retried, never dropped)',
    defect:
      'A read-only database (25006) is taken for an unexpected failure and dead-lettered after a few attempts, without a write probe proving the database writable: valid texts arriving during the outage are lost.',
    // Scenario 7 with the read-only database fault only: content arrives during every hold.
    scenarios: [7],
    ci: false,
    faults: ['postgres-read-only'],
  }),
  entry({
    id: 'relay-failed-publish-kept-marked',
    invariant: 'invariant 5 (published at least once)',
    defect:
      'The relay never reverts the claim of rows whose publish failed: they stay marked published and their events are never published.',
    // Needs publishes that fail while the replicas go on writing rows: scenario 7 with the broker refusing
    // produce requests (a broker that is down stops the consumers too, so no row waits when it fails).
    // Caught in 222 s (seed 1: lost records, found once the settle timeout ran out); with the CI profile's
    // own draw on seeds 6 and 14, whose schedules have a produce refusal, in 224 s and 228 s (470 and 3 texts lost).
    scenarios: [7],
    ci: false,
    faults: ['kafka-produce-refusal'],
  }),
  entry({
    id: 'no-heartbeat-between-steps',
    invariant: 'invariant 11 (no stuck peer)',
    defect:
      'The consumer heartbeats only between fetches, not between the steps of a fetched batch: on a slow database a working member is evicted mid-batch while its peers wait in JoinGroup, and its batch is redelivered to a peer.',
    // A database behind a 150 ms proxy makes one fetch of twenty steps outlast a 6 s session timeout, on
    // two replicas: the evicted member's texts are consumed again by its peer. About two minutes.
    scenarios: [],
    integrationTests: ['worker-faults/slow-database.int.test.ts'],
    ci: false,
  }),
  entry({
    id: 'dead-letter-refusal-retried',
    invariant: 'invariant 10 (no poison pill)',
    defect:
      'A dead letter the dead-letter topic refuses for good (MESSAGE_TOO_LARGE) is retried forever as a broker outage instead of being written as a reference letter and counted: its partition stalls behind it.',
    // A dead-letter topic whose max.message.bytes is below an oversized malformed input's letter. Every
    // run: the test waits 30 s for the reference letter, 30 s for /readyz to name the stopped partition
    // (about 70 s with the mutant's build; 9 s against the worker).
    scenarios: [],
    integrationTests: ['worker-faults/dead-letter-refused.int.test.ts'],
    ci: false,
  }),
  entry({
    id: 'dead-letter-marked-seen',
    invariant: 'invariant 6 (no message skipped)',
    defect:
      'A dead-lettered content event is marked seen in Redis with the committed ones, so its replay after the fix is skipped as a duplicate and the text is never assigned.',
    // Scenario 9 refuses one valid text per batch until it replays every dead letter of the run.
    scenarios: [9],
    ci: false,
  }),
  entry({
    id: 'slot-event-wrong-upload-id',
    invariant: 'invariant 5 (the event describes its state change)',
    defect:
      'The slot-assigned event of a text assigned on arrival carries the text storage id in file_upload_id.',
    // Every scenario that assigns texts on arrival; the field check names the first record.
    scenarios: [2, 3, 4],
    ci: true,
  }),
  entry({
    id: 'completion-keyed-by-essay',
    invariant: 'contract (the completion is keyed by its batch id)',
    defect:
      "The completion event is keyed by its first essay id instead of the batch id, so a batch's events can land on different partitions.",
    scenarios: [3, 2, 4],
    ci: false,
  }),
  entry({
    id: 'completion-trace-context-dropped',
    invariant: "contract (the completion carries the registration's trace context)",
    defect:
      "The completion event is built without the batch's stored trace context, so the registration's traceparent and tracestate never reach it.",
    // Every scenario whose batches complete: the field check compares each completion's metadata with its
    // registration's (15 in 16 registrations carry a valid traceparent, so every run has one to miss).
    // Measured: scenario 2, seed 1, caught by fieldErrors in 23 s.
    scenarios: [2, 3, 4],
    ci: false,
  }),
  entry({
    id: 'dead-letter-error-summary',
    invariant: 'invariant 10 (dead-lettered with the original bytes)',
    defect: "A dead letter's value is a JSON summary of the error instead of the input's original bytes.",
    // Scenario 9 dead-letters every malformed class on every run.
    scenarios: [9],
    ci: false,
  }),
  entry({
    id: 'metrics-completing-assignment-uncounted',
    invariant: "metrics (the replicas' counters say what happened)",
    defect:
      "The text that fills a batch's last slot counts as a completion only, not as a slot assignment: els_slot_assignments_total undercounts by one per batch completed on a text's arrival.",
    // Every scenario whose batches complete on content; the metrics check compares per replica.
    scenarios: [2, 3, 4],
    ci: false,
  }),
  entry({
    id: 'outbox-sweeper-never-started',
    invariant: 'invariant 12 (nothing grows without bound)',
    defect: 'The outbox sweeper is never started, so published outbox rows are never pruned.',
    // Every run: a worker with a 1 s retention must empty its outbox (a few seconds); scenario 7 runs with a
    // 5 s retention and judges the table after the pruner's due time.
    scenarios: [7],
    integrationTests: ['worker-faults/outbox-retention.int.test.ts'],
    ci: false,
  }),
  entry({
    id: 'slow-content-transaction',
    invariant: 'threshold (database operation average < 200 ms)',
    defect: 'Every content transaction waits 300 ms inside the database before its work: correct, and slow.',
    // Every scenario whose texts arrive after their registration judges databaseAvgMs; 2 is the shortest.
    scenarios: [2, 4],
    ci: false,
  }),
  entry({
    id: 'no-session-timeouts',
    invariant: 'invariant 11 (no stuck peer)',
    defect:
      'The database sessions run without statement, lock and idle-in-transaction timeouts: a frozen replica keeps its row locks, and a peer waits for them as long as it is frozen.',
    // Only a pause that catches a replica holding a batch's counter row exposes it (a peer's transaction on
    // a text of that batch then waits for the whole pause, its partition with it): scenario 7 with lock
    // pauses only, whose hold (20-25 s) outlasts the peers' bound (17 s).
    scenarios: [7],
    ci: false,
    faults: ['replica-lock-pause'],
  }),
  entry({
    id: 'leak-per-event',
    invariant: 'threshold (memory flat over a sustained run)',
    defect:
      'The batch processor keeps every planned message in a list it never trims: RSS grows with every event.',
    // The RSS slope is judged once a replica process has consumed 8,000 events (warm-up and a sustained
    // run): scenario 7 of the full profile (90 s at 300 texts/s); the CI profile's runs are too short.
    scenarios: [7],
    ci: false,
    profile: 'full',
    faults: ['net-latency'],
  }),
];
