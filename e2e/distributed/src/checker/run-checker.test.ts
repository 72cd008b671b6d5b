import { createHash } from 'node:crypto';
import {
  ELS_SOURCE_SERVICE,
  SCHEMA_VERSION,
  TOPICS,
  deterministicEventId,
  traceMetadata,
  type BaseTopic,
  type TraceContext,
} from '@els/contracts';
import type { BatchExpectation, SentLogLine } from '@els/workload';
import type { ObservedMessage } from '@els/harness';
import { batchesFilledByFewReplicas } from './attribution';
import { checkRun, NO_VIOLATIONS, violations, type CheckInput } from './run-checker';

// One batch of two slots, two texts: the clean run every test below breaks in one way.
const batchId = 'b1';
const registrationCorrelation = '00000000-0000-4000-8000-000000000001';
/** The correlation id of every content event sent (and of the records they cause). */
const contentCorrelation = '00000000-0000-4000-8000-0000000000c0';
const A1 = deterministicEventId('EssaySlotAssignedV1', [batchId, 'e1']);
const A2 = deterministicEventId('EssaySlotAssignedV1', [batchId, 'e2']);
const C1 = deterministicEventId('BatchContentProvisioningCompletedV1', [batchId]);
const X1 = deterministicEventId('ExcessContentProvisionedV1', [batchId, 't2']);
const X3 = deterministicEventId('ExcessContentProvisionedV1', [batchId, 't3']);
let seq = 0;

/** The registration's trace context (with a tracestate), which the completion must carry. */
const registrationTrace: TraceContext = {
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  tracestate: 'rojo=00f067aa0ba902b7',
};
/** Each text's content event has a trace context of its own, which its slot-assigned or excess event must carry. */
const textTrace = (text: string): TraceContext => ({
  traceparent: `00-${createHash('md5').update(text).digest('hex')}-00f067aa0ba902b7-01`,
});

/** The value bytes a sent line stands for (a dead letter must carry them). */
const valueOf = (line: SentLogLine) => Buffer.from(`value-${line.seq}`);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function sentLine(kind: SentLogLine['kind'], textStorageId: string | null, atMs: number): SentLogLine {
  seq += 1;
  const registration = kind === 'registration';
  const value = Buffer.from(`value-${seq}`);
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
    correlationId: registration ? registrationCorrelation : textStorageId && contentCorrelation,
    originalFileName: textStorageId && `${textStorageId}.docx`,
    courseCode: registration ? 'ENG5' : null,
    userId: registration ? 'user-1' : null,
    traceparent: registration
      ? registrationTrace.traceparent
      : textStorageId && textTrace(textStorageId).traceparent,
    tracestate: registration ? (registrationTrace.tracestate ?? null) : null,
    valueBytes: value.length,
    valueSha256: sha256(value),
    sentAtMs: atMs,
    ackedAtMs: atMs + 1,
    offset: String(seq),
    attempts: 1,
  };
}

/** The data fields of a correct record of `topic`, overridden by `data`. */
function fullData(topic: BaseTopic, data: Record<string, unknown>, at: string): Record<string, unknown> {
  const text = String(data['text_storage_id']);
  const common = { correlation_id: contentCorrelation, timestamp: at };
  if (topic === TOPICS.essaySlotAssigned) {
    return {
      ...common,
      file_upload_id: `u-${text}`,
      original_file_name: `${text}.docx`,
      event: 'essay.slot.assigned',
      ...data,
    };
  }
  if (topic === TOPICS.excessContentProvisioned) {
    return {
      ...common,
      original_file_name: `${text}.docx`,
      reason: 'NO_AVAILABLE_SLOT',
      event: 'excess.content.provisioned',
      ...data,
    };
  }
  return {
    ...common,
    correlation_id: registrationCorrelation,
    course_code: 'ENG5',
    user_id: 'user-1',
    event: 'batch.content.provisioning.completed',
    ...data,
  };
}

/** A record as the relay publishes it: full envelope, the contract's key, event id and origin headers. */
function output(
  topic: BaseTopic,
  eventId: string,
  data: Record<string, unknown>,
  atMs: number,
): ObservedMessage {
  const at = new Date(atMs).toISOString();
  const full = fullData(topic, data, at);
  const key = String(topic === TOPICS.essaySlotAssigned ? full['essay_id'] : full['batch_id']);
  const value = {
    event_id: eventId,
    event_type: topic,
    event_timestamp: at,
    source_service: ELS_SOURCE_SERVICE,
    schema_version: SCHEMA_VERSION,
    correlation_id: full['correlation_id'],
    data_schema_uri: null,
    data: full,
    metadata: {
      partition_key: key,
      ...traceMetadata(
        topic === TOPICS.batchContentProvisioningCompleted
          ? registrationTrace
          : textTrace(String(full['text_storage_id'])),
      ),
    },
  };
  return {
    topic,
    partition: 0,
    offset: '0',
    key,
    value,
    raw: Buffer.from(JSON.stringify(value)),
    headers: { 'x-els-event-id': eventId, 'x-els-origin': 'els-worker-run-r1' },
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
      output(
        TOPICS.essaySlotAssigned,
        A1,
        { batch_id: batchId, essay_id: 'e1', text_storage_id: 't1' },
        1100,
      ),
      output(
        TOPICS.essaySlotAssigned,
        A2,
        { batch_id: batchId, essay_id: 'e2', text_storage_id: 't2' },
        1110,
      ),
      output(
        TOPICS.batchContentProvisioningCompleted,
        C1,
        {
          batch_id: batchId,
          provisioned_count: 2,
          expected_count: 2,
          correlation_id: registrationCorrelation,
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
      batches: [{ batch_id: batchId, expected_count: 2, correlation_id: registrationCorrelation }],
      validationFailures: [],
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
      (m) => m.topic !== TOPICS.essaySlotAssigned || m.value?.['event_id'] !== A2,
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
    input.outputs = input.outputs.filter((m) => m.value?.['event_id'] !== A1);
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
    expect(problemsOf(input).deadLetterErrors).toEqual([
      `malformed t.malformed[${seq % 3}]@${seq} (not-json, ${batchId}): no dead letter`,
    ]);
  });
});

const assigned = (input: CheckInput, eventId: string) =>
  input.outputs.find((m) => m.value?.['event_id'] === eventId) as ObservedMessage;

function withData(message: ObservedMessage, data: Record<string, unknown>): ObservedMessage {
  const value = { ...message.value, data: { ...(message.value?.['data'] as object), ...data } };
  return { ...message, value, raw: Buffer.from(JSON.stringify(value)) };
}

describe('the checker, matching output records to the database both ways', () => {
  it('names a slot-assigned record whose essay is not the slot holding its text', () => {
    const input = cleanRun();
    input.outputs = input.outputs.map((m) =>
      m.value?.['event_id'] === A1 ? withData(m, { essay_id: 'e2' }) : m,
    );
    expect(problemsOf(input).assignmentErrors).toEqual([
      `${batchId}/e1/t1 (slot holds the text but no record announces it)`,
      `${batchId}/e2/t1 (slot-assigned record ${TOPICS.essaySlotAssigned}[0]@0, but the database slot holds t2)`,
    ]);
  });

  it('names a slot-assigned record for a slot the batch does not have, and for a text never sent', () => {
    const input = cleanRun();
    input.outputs = [
      ...input.outputs,
      withData(assigned(input, A1), { essay_id: 'e9', text_storage_id: 't9' }),
    ];
    const errors = problemsOf(input).assignmentErrors;
    expect(errors).toContain(
      `${batchId}/e9/t9 (slot-assigned record ${TOPICS.essaySlotAssigned}[0]@0 names a slot the batch does not have)`,
    );
    expect(errors).toContain(
      `${batchId}/e9/t9 (slot-assigned record ${TOPICS.essaySlotAssigned}[0]@0 for a text never sent)`,
    );
  });

  it('names an excess record the database does not report, and one for a text holding a slot', () => {
    const input = cleanRun();
    input.outputs = [
      ...input.outputs,
      output(TOPICS.excessContentProvisioned, X1, { batch_id: batchId, text_storage_id: 't2' }, 1130),
    ];
    expect(problemsOf(input).excessErrors).toEqual([
      `${batchId}/t2 (excess record ${TOPICS.excessContentProvisioned}[0]@0, but slot e2 holds it)`,
      `${batchId}/t2 (excess record ${TOPICS.excessContentProvisioned}[0]@0, but the database reports no excess)`,
    ]);
  });

  it('names an excess row without its record, and accepts one with it', () => {
    const input = cleanRun();
    input.sent = [...input.sent, sentLine('content', 't3', 1025)];
    input.expectations = [
      { ...(input.expectations[0] as BatchExpectation), textStorageIds: ['t1', 't2', 't3'] },
    ];
    input.db.excess.push({ batch_id: batchId, text_storage_id: 't3' });
    expect(problemsOf(input).excessErrors).toEqual([
      `${batchId}/t3 (excess in the database but no excess record)`,
    ]);
    input.outputs = [
      ...input.outputs,
      output(TOPICS.excessContentProvisioned, X3, { batch_id: batchId, text_storage_id: 't3' }, 1130),
    ];
    expect(problemsOf(input)).toEqual(NO_VIOLATIONS);
  });
});

describe('the checker, counting completions per Kafka record', () => {
  const completionOf = (input: CheckInput) =>
    input.outputs.find((m) => m.topic === TOPICS.batchContentProvisioningCompleted) as ObservedMessage;

  it('accepts a byte-identical re-publish of a completion', () => {
    const input = cleanRun();
    input.outputs = [...input.outputs, { ...completionOf(input), offset: '1', timestampMs: 1500 }];
    expect(problemsOf(input)).toEqual(NO_VIOLATIONS);
  });

  it('names two completion records sharing an event id but not a payload', () => {
    const input = cleanRun();
    const second = withData(completionOf(input), { timestamp: 'later' });
    input.outputs = [...input.outputs, { ...second, offset: '1' }];
    const problems = problemsOf(input);
    expect(problems.eventIdErrors).toEqual([
      `${TOPICS.batchContentProvisioningCompleted} event ${C1}: 2 records carry 2 different payloads (${TOPICS.batchContentProvisioningCompleted}[0]@0, ${TOPICS.batchContentProvisioningCompleted}[0]@1)`,
    ]);
    expect(problems.completionErrors).toContain(`${batchId}: 2 completion events, expected 1`);
  });

  it('names a completion that pairs essays with the wrong texts', () => {
    const input = cleanRun();
    input.outputs = input.outputs.map((m) =>
      m.topic === TOPICS.batchContentProvisioningCompleted
        ? withData(m, {
            essays_for_processing: [
              { essay_id: 'e1', text_storage_id: 't2' },
              { essay_id: 'e2', text_storage_id: 't1' },
            ],
          })
        : m,
    );
    const at = `${batchId}: completion ${TOPICS.batchContentProvisioningCompleted}[0]@0`;
    expect(problemsOf(input).completionErrors).toEqual([
      `${at} lists e1=t2, e2=t1, which the database does not hold`,
      `${at} omits e1=t1, e2=t2, which the database holds`,
    ]);
  });

  it('names wrong counts and a correlation id that is not the registration’s', () => {
    const input = cleanRun();
    input.outputs = input.outputs.map((m) =>
      m.topic === TOPICS.batchContentProvisioningCompleted
        ? withData(m, { provisioned_count: 1, expected_count: 3, correlation_id: 'other' })
        : m,
    );
    const at = `${batchId}: completion ${TOPICS.batchContentProvisioningCompleted}[0]@0`;
    expect(problemsOf(input).completionErrors).toEqual([
      `${at} has provisioned_count 1, the database holds 2 texts`,
      `${at} has expected_count 3, the database has 2 slots`,
      `${at} carries correlation id ${registrationCorrelation} / other, the registration's is ${registrationCorrelation}`,
    ]);
  });
});

describe('the checker, judging validation failures', () => {
  // The second slot resolved by a validation failure instead of text t2.
  function withFailure(): CheckInput {
    const input = cleanRun();
    input.sent = [
      ...input.sent.filter((line) => line.textStorageId !== 't2'),
      { ...sentLine('validation-failure', null, 1030), fileUploadId: 'vf1' },
    ];
    input.expectations = [
      {
        ...(input.expectations[0] as BatchExpectation),
        textStorageIds: ['t1'],
        validationFailureFileIds: ['vf1'],
        assigned: { min: 1, max: 1 },
      },
    ];
    input.outputs = input.outputs
      .filter((m) => m.value?.['event_id'] !== A2)
      .map((m) =>
        m.topic === TOPICS.batchContentProvisioningCompleted
          ? withData(m, {
              provisioned_count: 1,
              essays_for_processing: [{ essay_id: 'e1', text_storage_id: 't1' }],
            })
          : m,
      );
    input.db.slots[1] = {
      batch_id: batchId,
      essay_id: 'e2',
      status: 'validation_failed',
      text_storage_id: null,
    };
    input.db.validationFailures = [
      { batch_id: batchId, file_upload_id: 'vf1', outcome: 'slot_failed', essay_id: 'e2' },
    ];
    return input;
  }

  it('accepts a failure that resolved one free slot', () => {
    expect(problemsOf(withFailure())).toEqual(NO_VIOLATIONS);
  });

  it('names a failure never recorded, and the failed slot nobody resolved', () => {
    const input = withFailure();
    input.db.validationFailures = [];
    expect(problemsOf(input).validationFailureErrors).toEqual([
      `${batchId}/e2 (failed slot resolved by 0 recorded failures)`,
      `${batchId}/vf1 (validation failure recorded 0 times)`,
    ]);
  });

  it('names a failure recorded twice, each resolving the same slot', () => {
    const input = withFailure();
    input.db.validationFailures.push({
      batch_id: batchId,
      file_upload_id: 'vf1',
      outcome: 'slot_failed',
      essay_id: 'e2',
    });
    expect(problemsOf(input).validationFailureErrors).toEqual([
      `${batchId}/e2 (failed slot resolved by 2 recorded failures: ${batchId}/vf1, ${batchId}/vf1)`,
      `${batchId}/vf1 (validation failure recorded 2 times)`,
    ]);
  });

  it('names a failure that took no slot while one was free, or one naming a slot that holds a text', () => {
    const input = withFailure();
    input.db.slots[1] = { batch_id: batchId, essay_id: 'e2', status: 'uploaded', text_storage_id: null };
    input.db.validationFailures = [
      { batch_id: batchId, file_upload_id: 'vf1', outcome: 'no_free_slot', essay_id: null },
    ];
    expect(problemsOf(input).validationFailureErrors).toEqual([
      `${batchId}/vf1 (no_free_slot, but the batch has 1 free slots)`,
    ]);
    input.db.validationFailures = [
      { batch_id: batchId, file_upload_id: 'vf1', outcome: 'slot_failed', essay_id: 'e1' },
    ];
    expect(problemsOf(input).validationFailureErrors).toEqual([
      `${batchId}/vf1 (resolved slot e1, which is ready_for_processing in ${batchId})`,
    ]);
  });

  it('names a failure left pending after its batch registered', () => {
    const input = withFailure();
    input.db.validationFailures = [
      { batch_id: batchId, file_upload_id: 'vf1', outcome: 'pending', essay_id: null },
    ];
    expect(problemsOf(input).validationFailureErrors).toContain(
      `${batchId}/vf1 (pending after its batch registered)`,
    );
  });
});

describe('the checker, matching dead letters to their inputs', () => {
  function deadLetter(line: SentLogLine, code: string): ObservedMessage {
    return {
      topic: TOPICS.deadLetter,
      partition: 0,
      offset: String(line.seq),
      key: line.key,
      value: undefined,
      raw: valueOf(line),
      headers: {
        'x-els-source-topic': line.topic,
        'x-els-source-partition': String(line.partition),
        'x-els-source-offset': String(line.offset),
        'x-els-error-code': code,
        'x-els-error-message': `${code}: refused`,
      },
      timestampMs: 1200,
      receivedAtMs: 1200,
    };
  }
  const malformedLine = () => ({ ...sentLine('malformed', null, 1030), malformedClass: 'not-json' as const });

  it('accepts one dead letter per malformed input with its class’s code, re-publishes counted once', () => {
    const input = cleanRun();
    const line = malformedLine();
    input.sent = [...input.sent, line];
    const letter = deadLetter(line, 'ELS_ERR_CONTRACT_NOT_JSON');
    input.outputs = [...input.outputs, letter, { ...letter, offset: '99' }];
    expect(problemsOf(input)).toEqual(NO_VIOLATIONS);
    expect(checkRun(input).deadLetters).toBe(1);
  });

  it('names a dead letter with the wrong code', () => {
    const input = cleanRun();
    const line = malformedLine();
    input.sent = [...input.sent, line];
    input.outputs = [...input.outputs, deadLetter(line, 'ELS_ERR_CONTRACT_INVALID_DATA')];
    expect(problemsOf(input).deadLetterErrors).toEqual([
      `dead letter of ${line.topic}[${line.partition}]@${line.offset} (ELS_ERR_CONTRACT_INVALID_DATA): not-json expects ELS_ERR_CONTRACT_NOT_JSON`,
    ]);
  });

  it('names a dead letter of valid input, and one of an offset nothing was sent to', () => {
    const input = cleanRun();
    const registration = input.sent[0] as SentLogLine;
    const stray = { ...registration, offset: '500', attempts: 1 };
    input.outputs = [
      ...input.outputs,
      deadLetter(registration, 'ELS_ERR_DATABASE_REJECTED'),
      deadLetter(stray, 'ELS_ERR_CONTRACT_NOT_JSON'),
    ];
    expect(problemsOf(input).deadLetterErrors).toEqual([
      `dead letter of ${registration.topic}[${registration.partition}]@500 (ELS_ERR_CONTRACT_NOT_JSON): the generator sent nothing there`,
      `dead letter of ${registration.topic}[${registration.partition}]@${registration.offset} (ELS_ERR_DATABASE_REJECTED): a valid registration of ${batchId}`,
    ]);
    // A retried send may have written a malformed copy at an offset the acknowledgement never named.
    input.sent = [{ ...registration, attempts: 2 }, ...input.sent.slice(1)];
    expect(problemsOf(input).deadLetterErrors).toHaveLength(1);
  });
});

describe('the checker, judging every field of every record against its cause', () => {
  const fieldErrorsOf = (input: CheckInput) => checkRun(input).fieldErrors;
  const slot = `${TOPICS.essaySlotAssigned}[0]@0 (${batchId})`;
  const completionAt = `${TOPICS.batchContentProvisioningCompleted}[0]@0 (${batchId})`;
  const replace = (input: CheckInput, eventId: string, change: (m: ObservedMessage) => ObservedMessage) => {
    input.outputs = input.outputs.map((m) => (m.value?.['event_id'] === eventId ? change(m) : m));
  };

  it('names a slot-assigned record whose file upload id, file name or correlation id is not the content’s', () => {
    const input = cleanRun();
    replace(input, A1, (m) => withData(m, { file_upload_id: 't1', original_file_name: 'other.docx' }));
    replace(input, A2, (m) => withData(m, { correlation_id: registrationCorrelation }));
    expect(fieldErrorsOf(input)).toEqual(
      [
        `${slot}: file_upload_id t1, sent u-t1`,
        `${slot}: original_file_name other.docx, sent t1.docx`,
        `${slot}: correlation_id ${registrationCorrelation}, the content's ${contentCorrelation}`,
        `${slot}: data.correlation_id ${registrationCorrelation} ≠ envelope ${contentCorrelation}`,
      ].sort(),
    );
  });

  it('names an envelope with the wrong type, source, version, id, partition key or a timestamp before its cause', () => {
    const input = cleanRun();
    const early = new Date(5).toISOString();
    replace(input, A1, (m) => {
      const record = withData(m, { timestamp: early });
      const value = {
        ...record.value,
        event_type: TOPICS.excessContentProvisioned,
        source_service: 'another-service',
        schema_version: 2,
        event_id: '00000000-0000-4000-8000-00000000000a',
        event_timestamp: early,
        metadata: { partition_key: batchId },
      };
      return { ...record, value };
    });
    const errors = fieldErrorsOf(input).join('\n');
    expect(errors).toContain(`event_type ${TOPICS.excessContentProvisioned}`);
    expect(errors).toContain('source_service another-service');
    expect(errors).toContain('schema_version 2');
    expect(errors).toContain(`event_id 00000000-0000-4000-8000-00000000000a, deterministic id ${A1}`);
    expect(errors).toContain(`metadata.partition_key ${batchId}, expected e1`);
    expect(errors).toContain('header x-els-event-id');
    expect(errors).toMatch(
      /event_timestamp 1970-01-01T00:00:00.005Z before its text and registration was sent/,
    );
  });

  it('names a record whose data.event is not its event name, or missing', () => {
    const input = cleanRun();
    replace(input, A1, (m) => withData(m, { event: 'essay.content.provisioned' }));
    replace(input, C1, (m) => {
      const { event: _dropped, ...data } = (m.value?.['data'] ?? {}) as Record<string, unknown>;
      return { ...m, value: { ...m.value, data } };
    });
    const errors = fieldErrorsOf(input);
    expect(errors).toContain(`${slot}: data.event essay.content.provisioned, expected essay.slot.assigned`);
    expect(errors).toContain(
      `${completionAt}: data.event undefined, expected batch.content.provisioning.completed`,
    );
  });

  const withMetadata = (m: ObservedMessage, metadata: Record<string, unknown>): ObservedMessage => {
    const value = { ...m.value, metadata };
    return { ...m, value, raw: Buffer.from(JSON.stringify(value)) };
  };

  it('names a slot-assigned record carrying another text’s trace context, or none', () => {
    const input = cleanRun();
    replace(input, A1, (m) => withMetadata(m, { partition_key: 'e1', ...textTrace('t2') }));
    replace(input, A2, (m) => withMetadata(m, { partition_key: 'e2' }));
    expect(fieldErrorsOf(input)).toEqual(
      [
        `${slot}: trace context ${textTrace('t2').traceparent}, the content's ${textTrace('t1').traceparent}`,
        `${slot}: trace context none, the content's ${textTrace('t2').traceparent}`,
      ].sort(),
    );
  });

  it('names a completion carrying the content’s trace context, or the registration’s without its tracestate', () => {
    const input = cleanRun();
    const registrationText = `${registrationTrace.traceparent} / ${registrationTrace.tracestate}`;
    replace(input, C1, (m) => withMetadata(m, { partition_key: batchId, ...textTrace('t2') }));
    expect(fieldErrorsOf(input)).toEqual([
      `${completionAt}: trace context ${textTrace('t2').traceparent}, the registration's ${registrationText}`,
    ]);
    replace(input, C1, (m) =>
      withMetadata(m, { partition_key: batchId, traceparent: registrationTrace.traceparent }),
    );
    expect(fieldErrorsOf(input)).toEqual([
      `${completionAt}: trace context ${registrationTrace.traceparent}, the registration's ${registrationText}`,
    ]);
  });

  it('wants no trace context on the outputs of a cause whose traceparent was invalid, and names one copied', () => {
    const input = cleanRun();
    const invalid = registrationTrace.traceparent.toUpperCase();
    input.sent = input.sent.map((line) =>
      line.kind === 'registration' ? { ...line, traceparent: invalid } : line,
    );
    // The worker dropped it: the completion carries none, which is right.
    replace(input, C1, (m) => withMetadata(m, { partition_key: batchId }));
    expect(fieldErrorsOf(input)).toEqual([]);
    replace(input, C1, (m) =>
      withMetadata(m, { partition_key: batchId, traceparent: invalid, tracestate: 'rojo=00f067aa0ba902b7' }),
    );
    expect(fieldErrorsOf(input)).toEqual([
      `${completionAt}: trace context ${invalid} / rojo=00f067aa0ba902b7, the registration's none`,
    ]);
  });

  it('judges no trace context against a sent log that did not record any', () => {
    const input = cleanRun();
    input.sent = input.sent.map(({ traceparent: _p, tracestate: _s, ...line }) => line);
    replace(input, A1, (m) => withMetadata(m, { partition_key: 'e1' }));
    expect(fieldErrorsOf(input)).toEqual([]);
  });

  it('names a record that breaks its published JSON Schema', () => {
    const input = cleanRun();
    replace(input, A2, (m) => withData(m, { essay_id: 7 }));
    expect(fieldErrorsOf(input).join('\n')).toMatch(/published schema: \/data\/essay_id must be string/);
  });

  it('names a completion keyed by something else, on the wrong partition, or not repeating its registration', () => {
    const input = cleanRun();
    replace(input, C1, (m) => ({
      ...withData(m, { course_code: 'SV1', user_id: 'user-2' }),
      key: 'e1',
      partition: 3,
    }));
    input.outputPartitions = { [TOPICS.batchContentProvisioningCompleted]: 12 };
    const errors = fieldErrorsOf(input);
    expect(errors).toContain(
      `${completionAt.replace('@0', '@0').replace('[0]', '[3]')}: Kafka key e1, expected batch_id ${batchId}`,
    );
    expect(errors).toContain(`${completionAt.replace('[0]', '[3]')}: course_code SV1, registered ENG5`);
    expect(errors).toContain(`${completionAt.replace('[0]', '[3]')}: user_id user-2, registered user-1`);
    expect(errors.join('\n')).toMatch(/on partition 3, its key maps to \d+ of 12/);
  });

  it('names an excess record with another reason or file name', () => {
    const input = cleanRun();
    input.sent = [...input.sent, sentLine('content', 't3', 1025)];
    input.expectations = [
      { ...(input.expectations[0] as BatchExpectation), textStorageIds: ['t1', 't2', 't3'] },
    ];
    input.db.excess.push({ batch_id: batchId, text_storage_id: 't3' });
    const excess = output(
      TOPICS.excessContentProvisioned,
      X3,
      { batch_id: batchId, text_storage_id: 't3' },
      1130,
    );
    input.outputs = [...input.outputs, withData(excess, { reason: 'BATCH_FULL', original_file_name: 'x' })];
    expect(fieldErrorsOf(input)).toEqual([
      `${TOPICS.excessContentProvisioned}[0]@0 (${batchId}): original_file_name x, sent t3.docx`,
      `${TOPICS.excessContentProvisioned}[0]@0 (${batchId}): published schema: /data/reason must be equal to constant`,
      `${TOPICS.excessContentProvisioned}[0]@0 (${batchId}): reason BATCH_FULL`,
    ]);
  });

  it('names a dead letter whose value is not the input’s bytes, whose key differs, or that lacks a header', () => {
    const input = cleanRun();
    const line = { ...sentLine('malformed', null, 1030), malformedClass: 'not-json' as const };
    input.sent = [...input.sent, line];
    const where = `${line.topic}[${line.partition}]@${line.offset}`;
    const letter: ObservedMessage = {
      topic: TOPICS.deadLetter,
      partition: 0,
      offset: '0',
      key: 'another-key',
      value: undefined,
      raw: Buffer.from('{"error":"ELS_ERR_CONTRACT_NOT_JSON"}'),
      headers: {
        'x-els-source-topic': line.topic,
        'x-els-source-partition': String(line.partition),
        'x-els-source-offset': String(line.offset),
        'x-els-error-code': 'ELS_ERR_CONTRACT_NOT_JSON',
        'x-els-event-id': 'ev-other',
      },
      timestampMs: 1200,
      receivedAtMs: 1200,
    };
    input.outputs = [...input.outputs, letter];
    expect(checkRun(input).deadLetterErrors).toEqual([
      `dead letter of ${where} (ELS_ERR_CONTRACT_NOT_JSON): key another-key, the input's ${batchId}`,
      `dead letter of ${where} (ELS_ERR_CONTRACT_NOT_JSON): no x-els-error-message header`,
      `dead letter of ${where} (ELS_ERR_CONTRACT_NOT_JSON): value: 37 bytes, not the ${line.valueBytes} bytes sent`,
      `dead letter of ${where} (ELS_ERR_CONTRACT_NOT_JSON): x-els-event-id ev-other, the input's ${line.eventId}`,
    ]);
    // A reference letter (the dead-letter topic refused the value) names the value by hash and size.
    input.outputs = [
      ...input.outputs.slice(0, -1),
      {
        ...letter,
        key: line.key,
        raw: Buffer.alloc(0),
        headers: {
          ...letter.headers,
          'x-els-event-id': String(line.eventId),
          'x-els-error-message': 'not JSON',
          'x-els-value-sha256': line.valueSha256,
          'x-els-value-bytes': String(line.valueBytes),
        },
      },
    ];
    expect(checkRun(input).deadLetterErrors).toEqual([]);
  });
});

describe('the checker, judging a replay of the dead letters', () => {
  function letter(line: SentLogLine, code: string, offset: number, replayOf?: string): ObservedMessage {
    return {
      topic: TOPICS.deadLetter,
      partition: 1,
      offset: String(offset),
      key: line.key,
      value: undefined,
      raw: valueOf(line),
      headers: {
        'x-els-source-topic': line.topic,
        'x-els-source-partition': String(line.partition),
        'x-els-source-offset': replayOf ? '9000' : String(line.offset),
        'x-els-error-code': code,
        'x-els-error-message': `${code}: refused`,
        ...(replayOf ? { 'x-els-replay-of': replayOf } : {}),
      },
      timestampMs: 1300,
      receivedAtMs: 1300,
    };
  }
  const notJson = 'ELS_ERR_CONTRACT_NOT_JSON';

  /** A run with one malformed input and the text t2 refused: both dead-lettered, t2 not assigned yet. */
  function refusedRun(replayed: boolean): { input: CheckInput; malformed: SentLogLine; t2: SentLogLine } {
    const input = cleanRun();
    const malformed = { ...sentLine('malformed', null, 1030), malformedClass: 'not-json' as const };
    input.sent = [...input.sent, malformed];
    const t2 = input.sent[2] as SentLogLine;
    input.outputs = [...input.outputs, letter(malformed, notJson, 0), letter(t2, 'ELS_ERR_INTERNAL', 1)];
    input.replay = { refusedTexts: new Set([`${batchId}/t2`]), refusedCode: 'ELS_ERR_INTERNAL', replayed };
    return { input, malformed, t2 };
  }

  it('accepts the dead letter of a refused text with its code, and of no other valid input', () => {
    const { input } = refusedRun(false);
    expect(problemsOf(input)).toEqual(NO_VIOLATIONS);
    input.replay = {
      refusedTexts: new Set([`${batchId}/t2`]),
      refusedCode: 'ELS_ERR_DATABASE_REJECTED',
      replayed: false,
    };
    expect(problemsOf(input).deadLetterErrors).toEqual([
      expect.stringContaining('a refused text expects ELS_ERR_DATABASE_REJECTED'),
    ]);
    delete input.replay;
    expect(problemsOf(input).deadLetterErrors).toEqual([expect.stringContaining('a valid content of b1')]);
  });

  it('accepts a malformed input dead-lettered again by its replay, with the same code and bytes', () => {
    const { input, malformed } = refusedRun(true);
    input.outputs = [...input.outputs, letter(malformed, notJson, 2, 'els.dlt/1/0')];
    expect(problemsOf(input)).toEqual(NO_VIOLATIONS);
    expect(checkRun(input).replayLetters).toBe(1);
  });

  it('names a replayed malformed input that was not dead-lettered again', () => {
    const { input } = refusedRun(true);
    expect(problemsOf(input).deadLetterErrors).toEqual([
      `dead letter ${TOPICS.deadLetter}[1]@0 (not-json): replayed, but not dead-lettered again`,
    ]);
  });

  it('names a second dead letter with another code or other bytes than the first', () => {
    const { input, malformed } = refusedRun(true);
    const otherCode = letter(malformed, 'ELS_ERR_CONTRACT_INVALID_DATA', 2, 'els.dlt/1/0');
    input.outputs = [...input.outputs, otherCode];
    expect(problemsOf(input).deadLetterErrors).toEqual([
      'dead letter of the replay of els.dlt/1/0 (ELS_ERR_CONTRACT_INVALID_DATA): the first dead letter had ELS_ERR_CONTRACT_NOT_JSON',
    ]);
    input.outputs = [
      ...input.outputs.slice(0, -1),
      { ...letter(malformed, notJson, 2, 'els.dlt/1/0'), raw: Buffer.from('an error summary') },
    ];
    expect(problemsOf(input).deadLetterErrors).toEqual([
      `dead letter of the replay of els.dlt/1/0 (ELS_ERR_CONTRACT_NOT_JSON): 16 bytes, not the ${valueOf(malformed).length} of the first`,
    ]);
  });

  it('names a refused text whose replay failed again, and a replay of a letter the run never had', () => {
    const { input, t2, malformed } = refusedRun(true);
    input.outputs = [
      ...input.outputs,
      letter(malformed, notJson, 2, 'els.dlt/1/0'),
      letter(t2, 'ELS_ERR_INTERNAL', 3, 'els.dlt/1/1'),
      letter(t2, 'ELS_ERR_INTERNAL', 4, 'els.dlt/1/77'),
    ];
    expect(problemsOf(input).deadLetterErrors).toEqual([
      'dead letter of the replay of els.dlt/1/1 (ELS_ERR_INTERNAL): the replay of a valid input failed again',
      'dead letter of the replay of els.dlt/1/77 (ELS_ERR_INTERNAL): the run has no such dead letter',
    ]);
  });
});

describe('the checker, attributing and recovering', () => {
  it('attributes each slot to the replica named by its record’s origin header', () => {
    const input = cleanRun();
    const [first, second] = input.outputs;
    if (first) first.headers = { 'x-els-origin': 'els-worker-run-r1' };
    if (second) second.headers = { 'x-els-origin': 'els-worker-run-r2' };
    const result = checkRun(input);
    expect(result.attribution.assignedByReplica).toEqual({ 'run-r1': 1, 'run-r2': 1 });
    expect(result.attribution.replicasPerBatch).toEqual({ [batchId]: ['run-r1', 'run-r2'] });
    expect(batchesFilledByFewReplicas(result.attribution, 2)).toEqual([]);
    expect(result.latencySeries.map((point) => point.replica)).toEqual(['run-r1', 'run-r2']);
  });

  it('names a batch filled by one replica where contention was required', () => {
    const input = cleanRun();
    for (const message of input.outputs) message.headers = { 'x-els-origin': 'els-worker-run-r3' };
    expect(batchesFilledByFewReplicas(checkRun(input).attribution, 2)).toEqual([
      `${batchId} filled by 1 replica(s): run-r3`,
    ]);
  });

  it('lists a text sent in several attempts that took effect once as recovered, not as a violation', () => {
    const input = cleanRun();
    const text = input.sent[1] as SentLogLine;
    input.sent = [input.sent[0] as SentLogLine, { ...text, attempts: 3 }, ...input.sent.slice(2)];
    const result = checkRun(input);
    expect(result.recovered).toEqual([`${batchId}/t1 (sent in 3 attempts)`]);
    expect(violations(result)).toEqual(NO_VIOLATIONS);
  });
});
