import { TOPICS, type BaseTopic } from '@els/contracts';
import { type CounterSample, type ObservedMessage, parseCounters, type ProcessReading } from '@els/harness';
import { checkMetrics, databaseCuts } from './metrics-check';

let offset = 0;
function record(topic: BaseTopic, eventId: string, origin: string, headers: Record<string, string> = {}) {
  offset += 1;
  const message: ObservedMessage = {
    topic,
    partition: 0,
    offset: String(offset),
    key: 'k',
    value: { event_id: eventId, data: {} },
    raw: Buffer.from('{}'),
    headers: { 'x-els-origin': `els-worker-${origin}`, ...headers },
    timestampMs: 0,
    receivedAtMs: 0,
  };
  return message;
}

const letter = (code: string, sourceOffset: number) =>
  record(TOPICS.deadLetter, `dl-${offset}`, 'r1', {
    'x-els-error-code': code,
    'x-els-source-topic': 'in',
    'x-els-source-partition': '0',
    'x-els-source-offset': String(sourceOffset),
  });

function reading(
  instanceId: string,
  counters: Partial<CounterSample>,
  complete = true,
  pid = 1,
): ProcessReading {
  return {
    instanceId,
    process: `${instanceId}@${pid}`,
    scrapedAtMs: 0,
    complete,
    counters: { slotAssignments: 0, excess: 0, completions: 0, deadLetters: {}, consumed: 0, ...counters },
    exposition: '',
    memory: [],
  };
}

// r1 assigned two slots and completed the batch, r2 assigned one and reported one excess; one malformed
// input was dead-lettered (and the letter re-published once).
const history = () => [
  record(TOPICS.essaySlotAssigned, 'a1', 'r1'),
  record(TOPICS.essaySlotAssigned, 'a2', 'r1'),
  record(TOPICS.essaySlotAssigned, 'a2', 'r1'),
  record(TOPICS.essaySlotAssigned, 'a3', 'r2'),
  record(TOPICS.excessContentProvisioned, 'x1', 'r2'),
  record(TOPICS.batchContentProvisioningCompleted, 'c1', 'r1'),
  letter('ELS_ERR_CONTRACT_NOT_JSON', 7),
  letter('ELS_ERR_CONTRACT_NOT_JSON', 7),
];
const truthful = () => [
  reading('r1', { slotAssignments: 2, completions: 1, deadLetters: { ELS_ERR_CONTRACT_NOT_JSON: 1 } }),
  reading('r2', { slotAssignments: 1, excess: 1 }),
];

describe('the metrics check', () => {
  it('accepts counters that say what the records say, re-published records counted once', () => {
    expect(checkMetrics(history(), truthful())).toEqual({ errors: [], uncounted: [] });
  });

  it('names a replica whose counter undercounts its slot assignments, and one that overcounts completions', () => {
    const readings = truthful();
    readings[0] = reading('r1', {
      slotAssignments: 1,
      completions: 1,
      deadLetters: { ELS_ERR_CONTRACT_NOT_JSON: 1 },
    });
    readings[1] = reading('r2', { slotAssignments: 1, excess: 1, completions: 1 });
    expect(checkMetrics(history(), readings).errors).toEqual([
      `r1: els_slot_assignments_total 1, its records on ${TOPICS.essaySlotAssigned} 2`,
      `r2: els_batch_completions_total 1, its records on ${TOPICS.batchContentProvisioningCompleted} 0`,
    ]);
  });

  it('holds a replica that lost a process to a lower bound only, and says so', () => {
    const readings = [
      reading('r1', { slotAssignments: 1, completions: 1 }, false, 1),
      reading('r1', { slotAssignments: 0 }, true, 2),
      reading('r2', { slotAssignments: 1, excess: 1 }),
    ];
    const result = checkMetrics(history(), readings);
    expect(result.errors).toEqual([]);
    expect(result.uncounted).toEqual([
      'r1: 1 of 2 processes ended before a reading after the run settled (r1@1)',
    ]);
    readings[0] = reading('r1', { slotAssignments: 3, completions: 1 }, false, 1);
    expect(checkMetrics(history(), readings).errors).toEqual([
      `r1: els_slot_assignments_total 3, its records on ${TOPICS.essaySlotAssigned} 2 (a lower bound: at most that many)`,
    ]);
  });

  it('holds a replica whose database sessions a fault cut to a lower bound, and names it', () => {
    // r1's retry after a cut found its own commit done: its record has no increment.
    const readings = truthful();
    readings[0] = reading('r1', {
      slotAssignments: 1,
      completions: 1,
      deadLetters: { ELS_ERR_CONTRACT_NOT_JSON: 1 },
    });
    expect(checkMetrics(history(), readings).errors).toEqual([
      `r1: els_slot_assignments_total 1, its records on ${TOPICS.essaySlotAssigned} 2`,
    ]);
    const cuts = databaseCuts([
      { label: 'postgres partition r1, 4.0 s', family: 'network-postgres', instanceId: 'r1' },
      { label: 'redis partition r2, 3.0 s', family: 'network-redis', instanceId: 'r2' },
      { label: 'skipped', family: 'network-postgres', instanceId: 'r2', skipped: 'no proxy' },
    ]);
    expect([...cuts]).toEqual([['r1', ['postgres partition r1, 4.0 s']]]);
    const result = checkMetrics(history(), readings, cuts);
    expect(result.errors).toEqual([]);
    expect(result.uncounted).toEqual([
      expect.stringMatching(/^r1: its database sessions were cut \(postgres partition r1/),
    ]);
    // Still a lower bound: more increments than records is wrong whatever the faults.
    readings[0] = reading('r1', { slotAssignments: 3, completions: 1 });
    expect(checkMetrics(history(), readings, cuts).errors).toEqual([
      `r1: els_slot_assignments_total 3, its records on ${TOPICS.essaySlotAssigned} 2 (a lower bound: at most that many)`,
    ]);
    // A PostgreSQL fault cuts every replica's sessions.
    expect([...databaseCuts([{ label: 'postgres-crash', family: 'postgres' }])]).toEqual([
      ['*', ['postgres-crash']],
    ]);
  });

  it('names dead-letter counters above the letters on the topic or below the inputs dead-lettered', () => {
    const over = truthful();
    over[1] = reading('r2', { slotAssignments: 1, excess: 1, deadLetters: { ELS_ERR_CONTRACT_NOT_JSON: 2 } });
    expect(checkMetrics(history(), over).errors).toEqual([
      'els_dead_letters_total{code="ELS_ERR_CONTRACT_NOT_JSON"} 3, more than the 2 letters on the topic',
    ]);
    const under = truthful();
    under[0] = reading('r1', { slotAssignments: 2, completions: 1 });
    expect(checkMetrics(history(), under).errors).toEqual([
      'els_dead_letters_total{code="ELS_ERR_CONTRACT_NOT_JSON"} 0, fewer than the 1 inputs dead-lettered',
    ]);
  });

  it('reads the compared counters from a Prometheus exposition, summing over labels', () => {
    const text = [
      '# HELP els_slot_assignments_total Texts assigned.',
      '# TYPE els_slot_assignments_total counter',
      'els_slot_assignments_total{path="content"} 5',
      'els_slot_assignments_total{path="pending"} 2',
      'els_excess_reports_total 1',
      'els_batch_completions_total 3',
      'els_dead_letters_total{code="ELS_ERR_INTERNAL"} 2',
      'els_dead_letters_total{code="ELS_ERR_CONTRACT_NOT_JSON"} 1',
      'els_events_consumed_total{event="content"} 9',
      'els_events_consumed_total{event="registration"} 4',
      'els_slot_assignments_other 100',
    ].join('\n');
    expect(parseCounters(text)).toEqual({
      slotAssignments: 7,
      excess: 1,
      completions: 3,
      deadLetters: { ELS_ERR_INTERNAL: 2, ELS_ERR_CONTRACT_NOT_JSON: 1 },
      consumed: 13,
    });
  });
});
