import { randomUUID } from 'node:crypto';
import { ERROR_CODES } from '@els/coordination';
import {
  buildBatchContentProvisioningCompleted,
  COMPLETION_EVENT_MAX_BYTES,
  completionEventMaxBytes,
  ID_MAX_BYTES,
  TRACESTATE_MAX_LENGTH,
} from '@els/contracts';
import { jsonbText, makeContent, makeRegistration, toWire } from '@els/contracts/testing';
import { planMessage, planSteps } from './message-plan';
import type { InboundMessage } from './message-types';

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const USER_ID = 'u'.repeat(ID_MAX_BYTES);

function inbound(value: Buffer, offset = '0'): InboundMessage {
  return { topic: 'in', partition: 0, offset, key: null, value };
}

function registrationOf(essayCount: number) {
  const batchId = randomUUID();
  return makeRegistration({
    batchId,
    userId: USER_ID,
    essayIds: Array.from({ length: essayCount }, () => randomUUID()),
  });
}

/** The most UUID-id essays whose completion bound stays within the limit (batch and user as above). */
function largestFittingEssayCount(): number {
  const uuid = randomUUID();
  const fits = (n: number) =>
    completionEventMaxBytes({
      entity_id: uuid,
      essay_ids: Array.from({ length: n }, () => uuid),
      expected_essay_count: n,
      user_id: USER_ID,
      course_code: 'ENG5',
    }) <= COMPLETION_EVENT_MAX_BYTES;
  let low = 1;
  let high = 100_000;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

describe('planMessage for registrations whose completion could not be published', () => {
  const fitting = largestFittingEssayCount();

  it('finds about 15,000 UUID essays the most a batch may hold', () => {
    expect(fitting).toBeGreaterThan(15_000);
    expect(fitting).toBeLessThan(15_300);
  });

  it('plans a registration whose completion could exceed the limit as a dead letter with ELS_ERR_BATCH_TOO_LARGE', () => {
    const registration = registrationOf(fitting + 1);
    const planned = planMessage(inbound(toWire(registration)), MAX_MESSAGE_BYTES);
    expect(planned).toMatchObject({
      kind: 'unusable',
      code: ERROR_CODES.batchTooLarge,
      eventId: registration.event_id,
      reason: expect.stringMatching(/^\$\.data\.essay_ids: .* above the limit of 16777216$/),
    });
    const [step] = planSteps([planned], new Set(), 100);
    expect(step?.kind).toBe('dead-letter');
  });

  it('plans a registration just under the limit as a registration', () => {
    const registration = registrationOf(fitting);
    const planned = planMessage(inbound(toWire(registration)), MAX_MESSAGE_BYTES);
    expect(planned.kind).toBe('registration');
  });

  it('plans small registrations and content as before', () => {
    expect(planMessage(inbound(toWire(makeRegistration())), MAX_MESSAGE_BYTES).kind).toBe('registration');
    expect(planMessage(inbound(toWire(makeContent({ batchId: 'b1' }))), MAX_MESSAGE_BYTES).kind).toBe(
      'content',
    );
  });

  it('bounds the real completion of the largest accepted batch with every slot holding a worst-case text id', () => {
    const registration = registrationOf(fitting);
    const data = registration.data;
    // 512 quotes: every byte escaped, the longest JSON a text id can take.
    const worstTextId = '"'.repeat(ID_MAX_BYTES);
    // The registration's trace context at its largest: a tracestate of the longest accepted length whose
    // every character JSON escapes to two.
    const worstTraceContext = {
      traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
      tracestate: '"'.repeat(TRACESTATE_MAX_LENGTH),
    };
    const completion = buildBatchContentProvisioningCompleted({
      batchId: data.entity_id,
      expectedCount: data.expected_essay_count,
      courseCode: data.course_code,
      userId: data.user_id,
      essaysForProcessing: data.essay_ids.map((essayId) => ({
        essay_id: essayId,
        text_storage_id: worstTextId,
      })),
      correlationId: registration.correlation_id,
      traceContext: worstTraceContext,
      at: new Date(),
    });
    const bound = completionEventMaxBytes(data);
    const asJson = Buffer.byteLength(JSON.stringify(completion.envelope));
    const asJsonb = Buffer.byteLength(jsonbText(completion.envelope));
    expect(asJson).toBeLessThanOrEqual(bound);
    expect(asJsonb).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThanOrEqual(COMPLETION_EVENT_MAX_BYTES);
    // Tight: the bound is the worst case, not a guess far above it.
    expect(bound - asJsonb).toBeLessThan(200);
  });
});
