import { createHash } from 'node:crypto';
import { ERROR_CODES, type ClassifiedFailure } from '@els/coordination';
import { makeContent, makeRegistration, makeValidationFailure, toWire } from '@els/contracts/testing';
import pino from 'pino';
import type { ContentOutcome, EventHandlers } from '../coordination-port';
import { silentLogger } from '../logger';
import { createBatchProcessor, type BatchProcessorOptions } from './batch-processor';
import type { BatchControl, DeadLetter, InboundMessage } from './message-types';
import type { ProcessorEvent } from './processor-events';
import { createRetryTracker } from './retry-tracker';

class Unavailable extends Error {}
class BadInput extends Error {}
/** A failure nobody anticipated (a bug, an unknown SQLSTATE): retried a bounded number of times. */
class Unexpected extends Error {}

const RETRY_UNEXPECTED_MAX = 3;

const classifyError = (error: unknown): ClassifiedFailure => {
  if (error instanceof BadInput)
    return { code: 'ELS_ERR_INVALID_INPUT_DATA', retriable: false, message: error.message, cause: error };
  if (error instanceof Unexpected)
    return {
      code: 'ELS_ERR_INTERNAL',
      retriable: true,
      retry: 'bounded',
      message: error.message,
      cause: error,
    };
  return { code: 'ELS_ERR_DATABASE_UNAVAILABLE', retriable: true, message: String(error), cause: error };
};

/** A logger that keeps every line it writes, parsed. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

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

function harness(
  overrides: Partial<EventHandlers> = {},
  seen: string[] = [],
  captureLogs = false,
  processorOptions: Partial<BatchProcessorOptions> = {},
) {
  let heartbeats = 0;
  const calls: string[] = [];
  const resolved: string[] = [];
  const letters: DeadLetter[] = [];
  const marked: string[] = [];
  const events: ProcessorEvent[] = [];
  const tracker = createRetryTracker();
  const log = capturingLogger();
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
    heartbeat: async () => void heartbeats++,
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
    retryUnexpectedMax: RETRY_UNEXPECTED_MAX,
    logger: captureLogs ? log.logger : silentLogger,
    onEvent: (event) => {
      tracker.observe(event);
      events.push(event);
    },
    sleep: async () => undefined,
    ...processorOptions,
  });
  return {
    process,
    heartbeats: () => heartbeats,
    control,
    calls,
    resolved,
    letters,
    marked,
    events,
    tracker,
    lines: log.lines,
    stop: () => (active = false),
  };
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
    expect(h.letters[0]).toMatchObject({ code: ERROR_CODES.essayIdConflict, eventId: registration.event_id });
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

  it('finds the one bad event of a rejected content batch by handling the run one by one, and marks only the committed ones seen', async () => {
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
    // A dead-lettered event id is never marked seen, so a replay of its letter is processed (invariant 10).
    expect(h.marked).toEqual([c1.event_id]);
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

  describe('unexpected failures and unavailability', () => {
    it('retries an unexpected failure the configured number of times, then dead-letters it with ELS_ERR_INTERNAL and its bytes', async () => {
      let attempts = 0;
      const h = harness({
        handleRegistration: async () => {
          attempts += 1;
          throw new Unexpected('essay ids collided on insert but no holder is visible');
        },
      });
      const wire = toWire(registration);
      await h.process(messagesOf([wire, toWire(c1)]), h.control);
      expect(attempts).toBe(RETRY_UNEXPECTED_MAX);
      expect(h.letters).toHaveLength(1);
      expect(h.letters[0]).toMatchObject({
        code: 'ELS_ERR_INTERNAL',
        eventId: registration.event_id,
        correlationId: registration.correlation_id,
      });
      expect(h.letters[0]?.reason).toContain(`after ${RETRY_UNEXPECTED_MAX} attempts`);
      expect(h.letters[0]?.message.value?.equals(wire)).toBe(true);
      expect(h.resolved).toEqual(['0', '1']);
      expect(h.calls).toEqual(['content-batch:t1']);
    });

    it('retries unavailability a thousand times and never dead-letters the message', async () => {
      let failures = 1000;
      const h = harness({
        handleValidationFailure: async (e) => {
          if (failures-- > 0) throw new Unavailable('connection refused');
          return { kind: 'slot-failed', batchId: e.data.entity_id, essayId: 'e', completed: false };
        },
      });
      await h.process(messagesOf([toWire(failure)]), h.control);
      expect(h.letters).toEqual([]);
      expect(h.resolved).toEqual(['0']);
      expect(h.events.filter((e) => e.type === 'retry')).toHaveLength(1000);
    });

    it('does not let unavailability between unexpected failures count toward the bound', async () => {
      // Unexpected twice (one short of the bound), each followed by a long outage, then success.
      const script = ['B', ...Array<string>(300).fill('U'), 'B', ...Array<string>(300).fill('U')];
      const h = harness({
        handleContentBatch: async (es) => {
          const next = script.shift();
          if (next === 'B') throw new Unexpected('unexpected');
          if (next === 'U') throw new Unavailable('connection refused');
          return es.map((e) => assigned(e.data.entity_id, e.data.text_storage_id));
        },
      });
      await h.process(messagesOf([toWire(c1)]), h.control);
      expect(h.letters).toEqual([]);
      expect(h.resolved).toEqual(['0']);
    });

    it('dead-letters an unexpected failure on its third occurrence even with outages in between', async () => {
      const script = ['B', 'U', 'U', 'B', 'U', 'B', 'U'];
      let calls = 0;
      const h = harness({
        handleContentBatch: async () => {
          calls += 1;
          const next = script.shift();
          throw next === 'B' ? new Unexpected('unexpected') : new Unavailable('connection refused');
        },
      });
      await h.process(messagesOf([toWire(c1)]), h.control);
      expect(calls).toBe(6);
      expect(h.letters.map((l) => [l.code, l.eventId])).toEqual([['ELS_ERR_INTERNAL', c1.event_id]]);
      expect(h.resolved).toEqual(['0']);
    });

    it('dead-letters only the guilty event of a content run that fails unexpectedly and assigns the others', async () => {
      const attemptsOf = new Map<string, number>();
      const poisoned = (text: string) => text === 't2';
      const h = harness({
        handleContentBatch: async (es) => {
          if (es.some((e) => poisoned(e.data.text_storage_id))) throw new Unexpected('unexpected');
          return es.map((e) => assigned(e.data.entity_id, e.data.text_storage_id));
        },
        handleContent: async (e) => {
          const text = e.data.text_storage_id;
          attemptsOf.set(text, (attemptsOf.get(text) ?? 0) + 1);
          if (poisoned(text)) throw new Unexpected('unexpected');
          return assigned(e.data.entity_id, text);
        },
      });
      await h.process(messagesOf([toWire(c1), toWire(c2)]), h.control);
      expect(h.letters.map((l) => [l.code, l.eventId])).toEqual([['ELS_ERR_INTERNAL', c2.event_id]]);
      expect(attemptsOf).toEqual(
        new Map([
          ['t1', 1],
          ['t2', RETRY_UNEXPECTED_MAX],
        ]),
      );
      const handled = h.events.flatMap((e) => (e.type === 'content-handled' ? e.outcomes : []));
      expect(handled.map((o) => o.kind === 'assigned' && o.textStorageId)).toEqual(['t1']);
      expect(h.resolved).toEqual(['1']);
    });

    it('names the message in retry while it is retried and forgets it once it settled', async () => {
      const seenWhileRetrying: unknown[] = [];
      let failures = 2;
      const h = harness({
        handleRegistration: async (e) => {
          seenWhileRetrying.push(h.tracker.list().map((m) => [m.offset, m.eventId, m.code, m.attempts]));
          if (failures-- > 0) throw new Unexpected('unexpected');
          return {
            kind: 'registered',
            batchId: e.data.entity_id,
            slots: 3,
            assignedFromPending: 0,
            excessFromPending: 0,
            failedFromPending: 0,
            completed: false,
          };
        },
      });
      await h.process(messagesOf([toWire(registration)]), h.control);
      expect(seenWhileRetrying).toEqual([
        [],
        [['0', registration.event_id, 'ELS_ERR_INTERNAL', 1]],
        [['0', registration.event_id, 'ELS_ERR_INTERNAL', 2]],
      ]);
      expect(h.tracker.list()).toEqual([]);
      expect(h.letters).toEqual([]);
    });
  });

  describe('log lines', () => {
    it('carry the correlation id and event id of the messages concerned, on every event-handling line', async () => {
      let batchFailures = 1;
      const h = harness(
        {
          handleContentBatch: async () => {
            if (batchFailures-- > 0) throw new Unavailable('connection refused');
            throw new BadInput('invalid byte sequence');
          },
          handleContent: async (e) => {
            if (e.data.text_storage_id === 't2') throw new BadInput('invalid byte sequence');
            return { ...assigned(e.data.entity_id, e.data.text_storage_id), completed: true };
          },
        },
        [],
        true,
      );
      const reg = makeRegistration({ batchId: 'b2', slots: 1 });
      await h.process(messagesOf([toWire(reg), toWire(c1), toWire(c2), toWire(failure)]), h.control);
      const byMessage = (msg: string) => h.lines.filter((line) => line['msg'] === msg);

      const retrying = byMessage('Retrying after a retriable failure');
      expect(retrying).toHaveLength(1);
      expect(retrying[0]).toMatchObject({
        correlationIds: [...new Set([c1.correlation_id, c2.correlation_id])],
        eventIds: [c1.event_id, c2.event_id],
        code: 'ELS_ERR_DATABASE_UNAVAILABLE',
        offset: '1',
      });
      expect(byMessage('Content batch rejected, handling its events one by one')[0]).toMatchObject({
        correlationIds: [...new Set([c1.correlation_id, c2.correlation_id])],
        eventIds: [c1.event_id, c2.event_id],
      });
      expect(byMessage('Message dead-lettered')[0]).toMatchObject({
        correlationId: c2.correlation_id,
        eventId: c2.event_id,
        code: 'ELS_ERR_INVALID_INPUT_DATA',
      });
      expect(byMessage('Batch registered')[0]).toMatchObject({
        correlationId: reg.correlation_id,
        eventId: reg.event_id,
      });
      expect(byMessage('Slot assigned, batch completed')[0]).toMatchObject({
        correlationId: c1.correlation_id,
        eventId: c1.event_id,
      });
      expect(byMessage('Validation failure handled')[0]).toMatchObject({
        correlationId: failure.correlation_id,
        eventId: failure.event_id,
      });
      const handling = h.lines.filter((line) => line['msg'] !== undefined);
      expect(handling.length).toBeGreaterThanOrEqual(6);
      for (const line of handling) {
        const ids = line['correlationId'] ?? line['correlationIds'];
        expect({ msg: line['msg'], hasCorrelationId: ids !== undefined }).toEqual({
          msg: line['msg'],
          hasCorrelationId: true,
        });
      }
    });

    it('carries the correlation id of a malformed message when its JSON still has one', async () => {
      const h = harness({}, [], true);
      const broken = { ...c1, data: { ...c1.data, file_size_bytes: 'many' } };
      await h.process(messagesOf([toWire(broken)]), h.control);
      const [line] = h.lines.filter((l) => l['msg'] === 'Message dead-lettered');
      expect(line).toMatchObject({ correlationId: c1.correlation_id, eventId: c1.event_id });
    });
  });
});

describe('batch processor: outages are decided by evidence, dead letters stay replayable', () => {
  const registration = makeRegistration({ batchId: 'b2', slots: 3 });
  const c1 = makeContent({ batchId: 'b2', textStorageId: 't1' });
  const c2 = makeContent({ batchId: 'b2', textStorageId: 't2' });
  const readOnly: ClassifiedFailure = {
    code: 'ELS_ERR_DATABASE_READ_ONLY',
    retriable: true,
    message: 'write probe: read-only',
    cause: undefined,
  };

  it('never marks a registration that was dead-lettered for an essay id conflict', async () => {
    const h = harness({
      handleRegistration: async () => ({ kind: 'conflict', batchId: 'b2', essayIds: ['x'] }),
    });
    await h.process(messagesOf([toWire(registration)]), h.control);
    expect(h.letters).toHaveLength(1);
    expect(h.marked).toEqual([]);
  });

  it('keeps retrying an unexpected failure while the write probe finds the database read-only, and dead-letters nothing', async () => {
    let attempts = 0;
    let probes = 0;
    const h = harness(
      {
        handleContentBatch: async (es) => {
          if (++attempts <= 40) throw new Unexpected('cannot execute UPDATE in a read-only transaction');
          return es.map((e) => assigned(e.data.entity_id, e.data.text_storage_id));
        },
      },
      [],
      false,
      { verifyDatabase: async () => (++probes <= 37 ? readOnly : undefined) },
    );
    await h.process(messagesOf([toWire(c1)]), h.control);
    expect(h.letters).toEqual([]);
    expect(h.resolved).toEqual(['0']);
    expect(h.marked).toEqual([c1.event_id]);
    expect(probes).toBeGreaterThan(30);
    expect(
      h.events.filter((e) => e.type === 'retry' && e.reason === 'ELS_ERR_DATABASE_READ_ONLY').length,
    ).toBe(37);
  });

  it('dead-letters an unexpected failure only after the database took a write and the failure happened again', async () => {
    let probes = 0;
    const h = harness(
      {
        handleContentBatch: async () => {
          throw new Unexpected('a bug');
        },
      },
      [],
      false,
      { verifyDatabase: async () => void probes++ },
    );
    await h.process(messagesOf([toWire(c1)]), h.control);
    expect(h.letters.map((l) => l.code)).toEqual(['ELS_ERR_INTERNAL']);
    expect(probes).toBe(2);
  });

  it('asks for a heartbeat between the steps of a fetched batch', async () => {
    const h = harness();
    await h.process(messagesOf([toWire(registration), toWire(c1), toWire(c2), Buffer.from('x')]), h.control);
    expect(h.resolved).toEqual(['0', '2', '3']);
    expect(h.heartbeats()).toBe(2);
  });

  it('leaves the rest of the batch unresolved when the heartbeat says the group is rebalancing', async () => {
    const h = harness();
    const control: BatchControl = {
      ...h.control,
      heartbeat: async () =>
        Promise.reject(Object.assign(new Error('rebalancing'), { type: 'REBALANCE_IN_PROGRESS' })),
    };
    await expect(h.process(messagesOf([toWire(registration), toWire(c1)]), control)).rejects.toThrow(
      'rebalancing',
    );
    expect(h.resolved).toEqual(['0']);
  });

  describe('a dead letter the dead-letter topic refuses for good', () => {
    const tooLarge = () =>
      Object.assign(new Error('The request included a message larger than the max message size'), {
        type: 'MESSAGE_TOO_LARGE',
      });

    it('is written as a reference letter with the value hash and size, and the partition moves on', async () => {
      const written: DeadLetter[] = [];
      const h = harness({}, [], false, {
        publishDeadLetters: async (letters) => {
          if (letters.some((letter) => !letter.reference && letter.message.value?.toString() === 'big'))
            throw tooLarge();
          written.push(...letters);
        },
        isPermanentBrokerRefusal: (error) => (error as { type?: string }).type === 'MESSAGE_TOO_LARGE',
      });
      await h.process(messagesOf([Buffer.from('small'), Buffer.from('big'), toWire(c1)]), h.control);
      expect(written.map((l) => [l.message.offset, l.reference === undefined])).toEqual([
        ['0', true],
        ['1', false],
      ]);
      expect(written[1]?.reference).toMatchObject({
        valueBytes: 3,
        valueSha256: createHash('sha256').update('big').digest('hex'),
      });
      expect(h.resolved).toEqual(['1', '2']);
      expect(h.events).toContainEqual({ type: 'dead-letter-refused', outcome: 'reference' });
    });

    it('stops the partition at the message when the reference letter is refused too, naming it in retry', async () => {
      let attempts = 0;
      const h = harness({}, [], false, {
        publishDeadLetters: async () => {
          if (++attempts > 20) h.stop();
          throw tooLarge();
        },
        isPermanentBrokerRefusal: () => true,
      });
      await h.process(messagesOf([Buffer.from('big'), toWire(c1)]), h.control);
      expect(h.resolved).toEqual([]);
      expect(h.letters).toEqual([]);
      expect(h.events.filter((e) => e.type === 'dead-letter-refused')).toEqual([
        { type: 'dead-letter-refused', outcome: 'stopped' },
      ]);
      expect(h.events.some((e) => e.type === 'retry' && e.reason === ERROR_CODES.deadLetterRefused)).toBe(
        true,
      );
    });
  });
});
