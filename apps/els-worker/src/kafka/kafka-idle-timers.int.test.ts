import { createHook } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger } from '../logger';
import { createKafkaClient } from './kafka-client';

const brokers = [process.env.ELS_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092'];

/** Timers created anywhere in this process while `during` runs. */
async function timersCreatedDuring(during: () => Promise<void>): Promise<number> {
  let created = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') created += 1;
    },
  });
  hook.enable();
  try {
    await during();
  } finally {
    hook.disable();
  }
  return created;
}

describe('kafkajs request queue (docs/adr/0004-kafkajs-request-queue-patch.md)', () => {
  it('arms no timer while a used connection has nothing pending', async () => {
    // Unpatched, kafkajs 2.2.4 re-arms a 1 ms timer forever once a connection's queue has been checked:
    // about a thousand timers a second per connection, in an otherwise idle process.
    const kafka = createKafkaClient({ brokers, clientId: 'idle-timers', logger: silentLogger });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.listTopics();
      await admin.describeCluster();
      const created = await timersCreatedDuring(() => delay(1000));
      // The one timer of the measuring delay itself, and none for the idle connection.
      expect(created).toBeLessThan(20);
    } finally {
      await admin.disconnect();
    }
  });
});
