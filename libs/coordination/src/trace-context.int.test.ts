import { TOPICS } from '@els/contracts';
import { makeContent, makeRegistration, makeValidationFailure } from '@els/contracts/testing';
import { handleContent, handleContentBatch } from './handlers/content-handler';
import { handleRegistration } from './handlers/registration-handler';
import { handleValidationFailure } from './handlers/validation-failure-handler';
import { createTestDatabase, type TestDatabase } from './testing';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

let counter = 0;
/** A distinct valid traceparent per call (trace id and span id both non-zero). */
function traceparent(): string {
  counter += 1;
  const hex = counter.toString(16).padStart(8, '0');
  return `00-${'4bf92f35'.repeat(3)}${hex}-${'00f067aa'}${hex}-01`;
}

interface OutboxEvent {
  topic: string;
  metadata: Record<string, unknown>;
  data: Record<string, unknown>;
}

async function outputsOf(batchId: string): Promise<OutboxEvent[]> {
  const rows = await db.sql<
    Array<{ topic: string; payload: { metadata: Record<string, unknown>; data: Record<string, unknown> } }>
  >`
    select topic, payload from outbox where payload->'data'->>'batch_id' = ${batchId} order by id`;
  return rows.map((row) => ({ topic: row.topic, metadata: row.payload.metadata, data: row.payload.data }));
}

const only = (events: OutboxEvent[], topic: string) => events.filter((event) => event.topic === topic);

describe('trace context from input to output', () => {
  it('a slot-assigned event carries its content event trace context, the completion the registration one', async () => {
    const registrationTrace = { traceparent: traceparent(), tracestate: 'rojo=00f067aa0ba902b7' };
    const registration = makeRegistration({ slots: 2, traceContext: registrationTrace });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const first = { traceparent: traceparent(), tracestate: 'congo=t61rcWkgMzE' };
    const last = { traceparent: traceparent() };
    await handleContent(
      db.sql,
      makeContent({ batchId, textStorageId: `${batchId}-t1`, traceContext: first }),
    );
    await handleContent(db.sql, makeContent({ batchId, textStorageId: `${batchId}-t2`, traceContext: last }));

    const outputs = await outputsOf(batchId);
    const slots = only(outputs, TOPICS.essaySlotAssigned);
    expect(slots.map((s) => [s.data['text_storage_id'], s.metadata])).toEqual([
      [`${batchId}-t1`, { partition_key: slots[0]?.data['essay_id'], ...first }],
      [`${batchId}-t2`, { partition_key: slots[1]?.data['essay_id'], ...last }],
    ]);
    // The text's event completed the batch; the completion still carries the registration's context.
    expect(only(outputs, TOPICS.batchContentProvisioningCompleted).map((c) => c.metadata)).toEqual([
      { partition_key: batchId, ...registrationTrace },
    ]);
  });

  it('a text that waited for its registration keeps its own trace context, excess included', async () => {
    const registrationTrace = { traceparent: traceparent() };
    const registration = makeRegistration({ slots: 1, traceContext: registrationTrace });
    const batchId = registration.data.entity_id;
    const assignedTrace = { traceparent: traceparent(), tracestate: 'a=1' };
    const excessTrace = { traceparent: traceparent(), tracestate: 'b=2' };
    const at = Date.now();
    let tick = 0;
    const clock = () => new Date(at + tick++);
    const texts = [
      makeContent({ batchId, textStorageId: `${batchId}-t1`, traceContext: assignedTrace }),
      makeContent({ batchId, textStorageId: `${batchId}-t2`, traceContext: excessTrace }),
    ];
    for (const text of texts) expect((await handleContent(db.sql, text, { clock })).kind).toBe('pending');
    await handleRegistration(db.sql, registration, { clock });

    const outputs = await outputsOf(batchId);
    expect(only(outputs, TOPICS.essaySlotAssigned).map((s) => s.metadata)).toEqual([
      { partition_key: `${batchId}-essay-1`, ...assignedTrace },
    ]);
    expect(only(outputs, TOPICS.excessContentProvisioned).map((s) => s.metadata)).toEqual([
      { partition_key: batchId, ...excessTrace },
    ]);
    expect(only(outputs, TOPICS.batchContentProvisioningCompleted).map((c) => c.metadata)).toEqual([
      { partition_key: batchId, ...registrationTrace },
    ]);
  });

  it('a completion caused by a validation failure carries the registration trace context', async () => {
    const registrationTrace = { traceparent: traceparent(), tracestate: 'r=1' };
    const registration = makeRegistration({ slots: 1, traceContext: registrationTrace });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    await handleValidationFailure(
      db.sql,
      makeValidationFailure({ batchId, traceContext: { traceparent: traceparent() } }),
    );
    expect(
      only(await outputsOf(batchId), TOPICS.batchContentProvisioningCompleted).map((c) => c.metadata),
    ).toEqual([{ partition_key: batchId, ...registrationTrace }]);
  });

  it('an excess text assigned on arrival (batched path) carries its own trace context', async () => {
    const registration = makeRegistration({ slots: 1, traceContext: { traceparent: traceparent() } });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const traces = [{ traceparent: traceparent() }, { traceparent: traceparent(), tracestate: 'x=9' }];
    await handleContentBatch(
      db.sql,
      traces.map((traceContext, i) =>
        makeContent({ batchId, textStorageId: `${batchId}-t${i + 1}`, traceContext }),
      ),
    );
    const outputs = await outputsOf(batchId);
    const [slot] = only(outputs, TOPICS.essaySlotAssigned);
    const [excess] = only(outputs, TOPICS.excessContentProvisioned);
    const traceOf = (text: unknown) => traces[Number(String(text).slice(-1)) - 1];
    expect(slot?.metadata).toEqual({
      partition_key: slot?.data['essay_id'],
      ...traceOf(slot?.data['text_storage_id']),
    });
    expect(excess?.metadata).toEqual({ partition_key: batchId, ...traceOf(excess?.data['text_storage_id']) });
  });

  it('an invalid trace context is dropped, not fatal: the outputs carry none', async () => {
    const registration = makeRegistration({
      slots: 2,
      traceContext: {
        traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
        tracestate: 'r=1',
      },
    });
    const batchId = registration.data.entity_id;
    expect((await handleRegistration(db.sql, registration)).kind).toBe('registered');
    const texts = [
      makeContent({ batchId, traceContext: { traceparent: 'not a traceparent' } }),
      makeContent({ batchId, traceContext: { traceparent: 42, tracestate: 'x=1' } }),
    ];
    for (const text of texts) expect((await handleContent(db.sql, text)).kind).toBe('assigned');
    const outputs = await outputsOf(batchId);
    expect(outputs).toHaveLength(3);
    for (const output of outputs) expect(Object.keys(output.metadata)).toEqual(['partition_key']);
  });

  it('a valid traceparent with an unusable tracestate keeps the traceparent alone', async () => {
    const registrationTraceparent = traceparent();
    const registration = makeRegistration({
      slots: 1,
      traceContext: { traceparent: registrationTraceparent, tracestate: 'å=1' },
    });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const contentTraceparent = traceparent();
    await handleContent(
      db.sql,
      makeContent({
        batchId,
        traceContext: { traceparent: contentTraceparent, tracestate: 'y'.repeat(513) },
      }),
    );
    const outputs = await outputsOf(batchId);
    expect(only(outputs, TOPICS.essaySlotAssigned)[0]?.metadata['tracestate']).toBeUndefined();
    expect(only(outputs, TOPICS.essaySlotAssigned)[0]?.metadata['traceparent']).toBe(contentTraceparent);
    expect(only(outputs, TOPICS.batchContentProvisioningCompleted)[0]?.metadata).toEqual({
      partition_key: batchId,
      traceparent: registrationTraceparent,
    });
  });
});
