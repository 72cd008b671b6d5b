import { TOPICS, type BaseTopic } from '@els/contracts';
import type { BatchExpectation, SentLogLine } from '../generator';
import type { ObservedMessage } from '../harness/kafka-probe';
import { checkRun, NO_VIOLATIONS, violations, type CheckInput } from './run-checker';

// One batch of two slots, two texts: the clean run every test below breaks in one way.
const batchId = 'b1';
let seq = 0;

function sentLine(kind: SentLogLine['kind'], textStorageId: string | null, atMs: number): SentLogLine {
  seq += 1;
  return {
    seq,
    topic: `t.${kind}`,
    partition: seq % 3,
    key: batchId,
    kind,
    batchId,
    textStorageId,
    fileUploadId: textStorageId && `u-${textStorageId}`,
    eventId: `ev-${seq}`,
    malformedClass: null,
    valueBytes: 100,
    sentAtMs: atMs,
    ackedAtMs: atMs + 1,
  };
}

function output(
  topic: BaseTopic,
  eventId: string,
  data: Record<string, unknown>,
  atMs: number,
): ObservedMessage {
  const value = { event_id: eventId, data };
  return {
    topic,
    partition: 0,
    offset: '0',
    key: batchId,
    value,
    raw: Buffer.from(JSON.stringify(value)),
    headers: {},
    timestampMs: atMs,
    receivedAtMs: atMs,
  };
}

function cleanRun(): CheckInput {
  const expectation: BatchExpectation = {
    batchId,
    wave: 0,
    slots: 2,
    essayIds: ['e1', 'e2'],
    textStorageIds: ['t1', 't2'],
    duplicatedTextStorageIds: [],
    validationFailureFileIds: [],
    registrationSent: true,
    textsBeforeRegistration: [],
    malformedClasses: [],
    completionExpected: true,
    assigned: { min: 2, max: 2 },
  };
  return {
    sent: [
      sentLine('registration', null, 1000),
      sentLine('content', 't1', 1010),
      sentLine('content', 't2', 1020),
    ],
    expectations: [expectation],
    outputs: [
      output(TOPICS.essaySlotAssigned, 'a1', { batch_id: batchId, text_storage_id: 't1' }, 1100),
      output(TOPICS.essaySlotAssigned, 'a2', { batch_id: batchId, text_storage_id: 't2' }, 1110),
      output(
        TOPICS.batchContentProvisioningCompleted,
        'c1',
        {
          batch_id: batchId,
          essays_for_processing: [
            { essay_id: 'e1', text_storage_id: 't1' },
            { essay_id: 'e2', text_storage_id: 't2' },
          ],
        },
        1120,
      ),
    ],
    db: {
      slots: [
        { batch_id: batchId, essay_id: 'e1', status: 'ready_for_processing', text_storage_id: 't1' },
        { batch_id: batchId, essay_id: 'e2', status: 'ready_for_processing', text_storage_id: 't2' },
      ],
      excess: [],
      pending: [],
      unpublishedOutboxRows: 0,
    },
  };
}

const problemsOf = (input: CheckInput) => violations(checkRun(input));

describe('the distributed checker', () => {
  it('finds nothing wrong with a correct run', () => {
    expect(problemsOf(cleanRun())).toEqual(NO_VIOLATIONS);
  });

  it('names a text held by two slots (invariant 1)', () => {
    const input = cleanRun();
    input.db.slots.push({
      batch_id: batchId,
      essay_id: 'e3',
      status: 'ready_for_processing',
      text_storage_id: 't1',
    });
    expect(problemsOf(input).duplicated).toEqual([`${batchId}/t1 (held by 2 slots)`]);
  });

  it('names excess reported while a slot of the batch is free (invariant 2)', () => {
    const input = cleanRun();
    input.db.slots[1] = { batch_id: batchId, essay_id: 'e2', status: 'uploaded', text_storage_id: null };
    input.db.excess.push({ batch_id: batchId, text_storage_id: 't2' });
    input.outputs = input.outputs.filter(
      (m) => m.topic !== TOPICS.essaySlotAssigned || m.value?.['event_id'] !== 'a2',
    );
    const problems = problemsOf(input);
    expect(problems.falseExcess).toContain(`${batchId}/t2 (batch has 1 free slots)`);
    expect(problems.falseExcess).toContain(`${batchId} (1 texts assigned, the plan allows 2–2)`);
  });

  it('names a text that ended in no state (invariant 3)', () => {
    const input = cleanRun();
    input.db.slots[1] = { batch_id: batchId, essay_id: 'e2', status: 'uploaded', text_storage_id: null };
    expect(problemsOf(input).lost).toContain(`${batchId}/t2 (neither assigned, excess nor pending)`);
  });

  it('names a second completion event for a batch (invariant 4)', () => {
    const input = cleanRun();
    const completion = input.outputs.at(-1) as ObservedMessage;
    input.outputs = [...input.outputs, { ...completion, value: { ...completion.value, event_id: 'c2' } }];
    const problems = problemsOf(input);
    expect(problems.duplicated).toContain(`${batchId} (2 completion events)`);
    expect(problems.completionErrors).toContain(`${batchId}: 2 completion events, expected 1`);
  });

  it('names a missing completion event (invariant 4)', () => {
    const input = cleanRun();
    input.outputs = input.outputs.slice(0, -1);
    expect(problemsOf(input).completionErrors).toContain(`${batchId}: 0 completion events, expected 1`);
  });

  it('names an assignment that was never announced (invariant 5), but not a republished record', () => {
    const input = cleanRun();
    const announced = input.outputs[0] as ObservedMessage;
    input.outputs = [...input.outputs, { ...announced, offset: '7', timestampMs: 2000 }];
    expect(problemsOf(input)).toEqual(NO_VIOLATIONS);
    input.outputs = input.outputs.filter((m) => m.value?.['event_id'] !== 'a1');
    expect(problemsOf(input).lost).toContain(`${batchId}/t1 (assigned but no slot-assigned event)`);
  });

  it('names content left pending after its batch registered (invariant 7)', () => {
    const input = cleanRun();
    input.db.pending.push({ batch_id: batchId, text_storage_id: 't2' });
    expect(problemsOf(input).lost).toContain(`${batchId}/t2 (stranded as pending after registration)`);
  });

  it('names a malformed message that was never dead-lettered (invariant 6)', () => {
    const input = cleanRun();
    input.sent = [...input.sent, { ...sentLine('malformed', null, 1030), malformedClass: 'not-json' }];
    expect(problemsOf(input).deadLetterErrors).toEqual(['0 dead letters for 1 malformed messages']);
  });
});
