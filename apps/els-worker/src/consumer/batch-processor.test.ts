import { makeContent, makeRegistration, makeValidationFailure, toWire } from '@els/contracts/testing';
import type { ContentOutcome, EventHandlers } from '../coordination-port';
import { silentLogger } from '../logger';
import { createBatchProcessor, ESSAY_ID_CONFLICT_CODE } from './batch-processor';
import type { BatchControl, DeadLetter, InboundMessage } from './message-types';
import type { ProcessorEvent } from './processor-events';
import type { ClassifiedFailure } from './retry-loop';

class Unavailable extends Error {}
class BadInput extends Error {}

const classifyError = (error: unknown): ClassifiedFailure =>
  error instanceof BadInput
    ? { code: 'ELS_ERR_INVALID_INPUT_DATA', retriable: false, message: error.message, cause: error }
    : { code: 'ELS_ERR_DATABASE_UNAVAILABLE', retriable: true, message: String(error), cause: error };

function messagesOf(values: Array<Buffer | null>): InboundMessage[] {
  return values.map((value, index) => ({
    topic: 't',
    partition: 0,
    offset: String(index),
    key: null,
    value,
  }));
}

const assigned = (batchId: string, textStorageId: string): ContentOutcome => ({
  kind: 'assigned',
  batchId,
  essayId: `e-${textStorageId}`,
  textStorageId,
  completed: false,
});

function harness(overrides: Partial<EventHandlers> = {}, seen: string[] = []) {
  const calls: string[] = [];
  const resolved: string[] = [];
  const letters: DeadLetter[] = [];
  const marked: string[] = [];
  const events: ProcessorEvent[] = [];
  let active = true;
  const handlers: EventHandlers = {
    handleRegistration: async (e) => {
      calls.push(`registration:${e.data.entity_id}`);
      return {
        kind: 'registered',
        batchId: e.data.entity_id,
        slots: e.data.essay_ids.length,
        assignedFromPending: 0,
        excessFromPending: 0,
        failedFromPending: 0,
        completed: false,
      };
    },
    handleContent: async (e) => {
      calls.push(`content:${e.data.text_storage_id}`);
      return assigned(e.data.entity_id, e.data.text_storage_id);
    },
    handleContentBatch: async (es) => {
      calls.push(`content-batch:${es.map((e) => e.data.text_storage_id).join(',')}`);
      return es.map((e) => assigned(e.data.entity_id, e.data.text_storage_id));
    },
    handleValidationFailure: async (e) => {
      calls.push(`validation:${e.data.file_upload_id}`);
      return { kind: 'slot-failed', batchId: e.data.entity_id, essayId: 'e', completed: false };
    },
    ...overrides,
  };
  const control: BatchControl = {
    resolveOffset: (offset) => resolved.push(offset),
    heartbeat: async () => undefined,
    isActive: () => active,
  };
  const process = createBatchProcessor({
    handlers,
    classifyError,
    eventFilter: {
      filterSeen: async (ids) => new Set(ids.filter((id) => seen.includes(id))),
      markSeen: async (ids) => void marked.push(...ids),
    },
    publishDeadLetters: async (batch) => void letters.push(...batch),
    maxMessageBytes: 10_000,
    maxContentBatch: 2,
    retryMaxBackoffMs: 10,
    logger: silentLogger,
    onEvent: (event) => events.push(event),
    sleep: async () => undefined,
  });
  return { process, control, calls, resolved, letters, marked, events, stop: () => (active = false) };
}

describe('batch processor', () => {
  const registration = makeRegistration({ batchId: 'b1', slots: 3 });
  const c1 = makeContent({ batchId: 'b1', textStorageId: 't1' });
  const c2 = makeContent({ batchId: 'b1', textStorageId: 't2' });
  const c3 = makeContent({ batchId: 'b1', textStorageId: 't3' });
  const failure = makeValidationFailure({ batchId: 'b1', fileUploadId: 'u9' });

  it('hands consecutive content events to one batched call, capped at the configured size, in offset order', async () => {
    const h = harness();
    await h.process(
      messagesOf([toWire(registration), toWire(c1), toWire(c2), toWire(c3), toWire(failure)]),
      h.control,
    );
    expect(h.calls).toEqual(['registration:b1', 'content-batch:t1,t2', 'content-batch:t3', 'validation:u9']);
    expect(h.resolved).toEqual(['0', '2', '3', '4']);
    expect(h.marked).toEqual([
      registration.event_id,
      c1.event_id,
      c2.event_id,
      c3.event_id,
      failure.event_id,
    ]);
  });

  it('reports how old each record was when work started on it and when its outcome was committed', async () => {
    const h = harness({}, [c3.event_id]);
    const sentAt = Date.now() - 1000;
    const messages = messagesOf([toWire(c1), toWire(c2), toWire(c3), Buffer.from('not json')]).map(
      (message) => ({ ...message, timestampMs: sentAt }),
    );
    await h.process(messages, h.control);
    const consumed = h.events.filter((e) => e.type === 'consumed');
    expect(consumed.map((e) => e.event)).toEqual(['content', 'content', 'content', 'invalid']);
    for (const event of consumed) expect(event.waitedMs).toBeGreaterThanOrEqual(1000);
    const settled = h.events.flatMap((e) => (e.type === 'settled' ? [e] : []));
    expect(settled.map((e) => [e.event, e.agesMs.length])).toEqual([
      ['content', 2],
      ['skipped', 1],
      ['invalid', 1],
    ]);
    for (const event of settled) for (const age of event.agesMs) expect(age).toBeGreaterThanOrEqual(1000);
  });

  it('dead-letters unusable messages with their code and moves the offset on', async () => {
    const h = harness();
    const tooBig = Buffer.alloc(20_000, 'x');
    await h.process(
      messagesOf([Buffer.from('not json'), toWire({ hello: 1 }), tooBig, null, toWire(c1)]),
      h.control,
    );
    expect(h.letters.map((letter) => letter.code)).toEqual([
      'ELS_ERR_CONTRACT_NOT_JSON',
      'ELS_ERR_CONTRACT_INVALID_ENVELOPE',
      'ELS_ERR_CONTRACT_TOO_LARGE',
      'ELS_ERR_CONTRACT_NOT_JSON',
    ]);
    expect(h.letters[0]?.message.value?.toString()).toBe('not json');
    expect(h.resolved).toEqual(['3', '4']);
    expect(h.calls).toEqual(['content-batch:t1']);
  });

  it('dead-letters a registration whose essay ids belong to another batch', async () => {
    const h = harness({
      handleRegistration: async () => ({ kind: 'conflict', batchId: 'b1', essayIds: ['x'] }),
    });
    await h.process(messagesOf([toWire(registration)]), h.control);
    expect(h.letters).toHaveLength(1);
    expect(h.letters[0]).toMatchObject({ code: ESSAY_ID_CONFLICT_CODE, eventId: registration.event_id });
    expect(h.resolved).toEqual(['0']);
  });

  it('retries a retriable failure until it succeeds, never skipping or dead-lettering the message', async () => {
    let failures = 3;
    const h = harness({
      handleContentBatch: async (es) => {
        if (failures-- > 0) throw new Unavailable('connection refused');
        return es.map((e) => assigned(e.data.entity_id, e.data.text_storage_id));
      },
    });
    await h.process(messagesOf([toWire(c1)]), h.control);
    expect(h.resolved).toEqual(['0']);
    expect(h.letters).toEqual([]);
    expect(h.events.filter((e) => e.type === 'retry')).toHaveLength(3);
  });

  it('stops without resolving when the consumer stops during an outage', async () => {
    const h = harness({
      handleContentBatch: async () => {
        h.stop();
        throw new Unavailable('connection refused');
      },
    });
    await h.process(messagesOf([toWire(c1), toWire(c2)]), h.control);
    expect(h.resolved).toEqual([]);
    expect(h.marked).toEqual([]);
  });

  it('finds the one bad event of a rejected content batch by handling the run one by one', async () => {
    const h = harness({
      handleContentBatch: async () => {
        throw new BadInput('invalid byte sequence');
      },
      handleContent: async (e) => {
        if (e.data.text_storage_id === 't2') throw new BadInput('invalid byte sequence');
        return assigned(e.data.entity_id, e.data.text_storage_id);
      },
    });
    await h.process(messagesOf([toWire(c1), toWire(c2)]), h.control);
    expect(h.letters.map((l) => [l.code, l.eventId])).toEqual([['ELS_ERR_INVALID_INPUT_DATA', c2.event_id]]);
    expect(h.resolved).toEqual(['1']);
  });

  it('acknowledges events the Redis pre-filter has seen without calling the database', async () => {
    const h = harness({}, [c1.event_id]);
    await h.process(messagesOf([toWire(c1), toWire(c2)]), h.control);
    expect(h.calls).toEqual(['content-batch:t2']);
    expect(h.resolved).toEqual(['0', '1']);
    expect(h.events).toContainEqual({ type: 'filtered', count: 1 });
  });

  it('dead-letters an output event that arrived on an input topic', async () => {
    const h = harness();
    const output = {
      ...c1,
      event_type: 'huleedu.els.essay.slot.assigned.v1',
      data: {
        batch_id: 'b1',
        essay_id: 'e',
        file_upload_id: 'u',
        text_storage_id: 't',
        original_file_name: 'f',
        correlation_id: c1.correlation_id,
        timestamp: c1.event_timestamp,
      },
    };
    await h.process(messagesOf([toWire(output)]), h.control);
    expect(h.letters.map((l) => l.code)).toEqual(['ELS_ERR_UNEXPECTED_EVENT']);
  });
});
