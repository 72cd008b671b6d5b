import net from 'node:net';
import { TEST_REDIS_URL, TEST_SERVER_URL } from '@els/test-kit';
import { createNetworkFaults } from './network-faults';
import type { PacketFilter } from './packet-filter';

/** Packet filter rules are not what this test is about: a filter that says it cannot be used. */
const noPacketFilter: PacketFilter = {
  tag: 'network-faults-test',
  unavailable: async () => 'not used by this test',
  refuse: async () => undefined,
  remove: async () => undefined,
  removeTagged: async () => 0,
  removeLeftovers: async () => [],
};

describe('network faults of a run', () => {
  it('leaves a Kafka proxy that cannot start out of the replica’s proxies, says why, and still closes', async () => {
    // Another process holds the port of replica 1's Kafka proxy (29201).
    const squatter = net.createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(29201, '127.0.0.1', resolve);
    });
    try {
      const faults = await createNetworkFaults({
        replicas: 1,
        databaseUrl: `${TEST_SERVER_URL}/els`,
        redisUrl: TEST_REDIS_URL,
        kafkaHost: '127.0.0.1',
        label: 'network-faults-test',
        packetFilter: noPacketFilter,
      });
      expect(faults.unavailable.kafka).toMatch(/Kafka proxy port 29201/);
      expect(faults.endpointsFor(0)).not.toHaveProperty('kafkaBrokers');
      expect(faults.endpointsFor(0)).toHaveProperty('databaseUrl');
      await faults.healAll();
      await expect(faults.close()).resolves.toBeUndefined();
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
