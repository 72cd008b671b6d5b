import { createHook } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { silentLogger } from '../logger';
import { createKafkaClient } from './kafka-client';

const brokers = [process.env.ELS_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092'];

/**
 * Watches this process's timers from now on: `during` counts the timers created and the timer callbacks
 * run (also of timers armed before it, such as a connection's interval) while its function runs.
 */
function watchTimers() {
  const live = new Set<number>();
  let measuring = false;
  let created = 0;
  let fired = 0;
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      live.add(id);
      if (measuring) created += 1;
    },
    before(id) {
      if (measuring && live.has(id)) fired += 1;
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    async during(run: () => Promise<void>): Promise<{ created: number; fired: number }> {
      created = 0;
      fired = 0;
      measuring = true;
      try {
        await run();
      } finally {
        measuring = false;
      }
      return { created, fired };
    },
    stop: () => void hook.disable(),
  };
}

/**
 * Watches the timers while `measure` runs against an admin client whose broker connections have carried
 * requests and are now idle.
 */
async function onIdleAdmin<T>(
  clientId: string,
  measure: (timers: ReturnType<typeof watchTimers>) => Promise<T>,
): Promise<T> {
  const timers = watchTimers();
  const admin = createKafkaClient({ brokers, clientId, logger: silentLogger }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    await admin.describeCluster();
    return await measure(timers);
  } finally {
    timers.stop();
    await admin.disconnect();
  }
}

describe('kafkajs request queue (docs/adr/0004-kafkajs-request-queue-patch.md)', () => {
  it('arms no timer while a used connection has nothing pending', async () => {
    // Unpatched, kafkajs 2.2.4 re-arms a 1 ms timer forever once a connection's queue has been checked:
    // about a thousand timers a second per connection, in an otherwise idle process.
    const { created } = await onIdleAdmin('idle-timers', (timers) => timers.during(() => delay(1000)));
    // The one timer of the measuring delay itself, and none for the idle connection.
    expect(created).toBeLessThan(20);
  });

  it("checks an idle connection's request timeouts once a second, not ten times", async () => {
    // Unpatched, every connected broker connection runs its request-timeout check every 100 ms: about
    // ten wake-ups a second per connection. The worker's 30 s request timeout is checked every second.
    const { fired } = await onIdleAdmin('idle-timeout-checks', (timers) => timers.during(() => delay(3000)));
    // The admin holds one or two broker connections: at most about three checks each in 3 s, and the
    // measuring delay itself; unpatched it is about thirty per connection.
    expect(fired).toBeLessThan(10);
  });
});
