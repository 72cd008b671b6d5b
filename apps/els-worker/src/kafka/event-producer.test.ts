import type { Kafka } from 'kafkajs';
import type { OutboundRecord } from '../consumer/message-types';
import type { Logger } from '../logger';
import { createEventProducer, isStaleProducerError } from './event-producer';

/** What kafkajs throws when the broker refuses a producer's sequence numbers (a KafkaJSProtocolError). */
const outOfOrder = () =>
  Object.assign(new Error('The broker received an out of order sequence number'), {
    type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    code: 45,
    retriable: false,
  });

/** A Kafka client whose producers are recorded; the first producer's first send fails with `error`. */
function kafkaWhoseFirstSendFails(error: Error) {
  const producers: Array<{ sends: number; disconnected: boolean }> = [];
  const kafka = {
    producer: () => {
      const state = { sends: 0, disconnected: false };
      const index = producers.push(state) - 1;
      return {
        connect: async () => undefined,
        disconnect: async () => void (state.disconnected = true),
        sendBatch: async () => {
          state.sends += 1;
          if (index === 0 && state.sends === 1) throw error;
          return [];
        },
      };
    },
  } as unknown as Kafka;
  return { kafka, producers };
}

const silent = { info: () => undefined, warn: () => undefined } as unknown as Logger;
const record: OutboundRecord = {
  topic: 'huleedu.els.essay.slot.assigned.v1',
  key: 'b-1',
  value: '{}',
  eventId: 'e-1',
} as OutboundRecord;

describe('event producer after the broker refuses its idempotence state', () => {
  it('recognises the stale-producer answers, also wrapped, and nothing else', () => {
    expect(isStaleProducerError(outOfOrder())).toBe(true);
    expect(
      isStaleProducerError({ name: 'KafkaJSNumberOfRetriesExceeded', originalError: outOfOrder() }),
    ).toBe(true);
    expect(isStaleProducerError({ errors: [new Error('x'), { type: 'UNKNOWN_PRODUCER_ID' }] })).toBe(true);
    expect(
      isStaleProducerError(Object.assign(new Error('leader moved'), { type: 'NOT_LEADER_FOR_PARTITION' })),
    ).toBe(false);
  });

  it('replaces the producer, so the retry is sent by a new one (the same one fails forever)', async () => {
    const { kafka, producers } = kafkaWhoseFirstSendFails(outOfOrder());
    const events = createEventProducer(kafka, '', silent);
    await events.start();
    const [first] = await events.publish([record]);
    expect(first?.ok).toBe(false);
    expect(producers[0]?.disconnected).toBe(true);
    const [second] = await events.publish([record]);
    expect(second?.ok).toBe(true);
    expect(producers).toHaveLength(2);
    expect(producers[1]?.sends).toBe(1);
    await events.stop();
  });

  it('keeps the producer on any other failure', async () => {
    const { kafka, producers } = kafkaWhoseFirstSendFails(
      Object.assign(new Error('leader moved'), { type: 'NOT_LEADER_FOR_PARTITION' }),
    );
    const events = createEventProducer(kafka, '', silent);
    await events.start();
    expect((await events.publish([record]))[0]?.ok).toBe(false);
    expect((await events.publish([record]))[0]?.ok).toBe(true);
    expect(producers).toHaveLength(1);
    await events.stop();
  });
});
