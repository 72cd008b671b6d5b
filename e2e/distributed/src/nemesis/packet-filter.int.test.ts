import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import type { ConnectionRefusal } from './fault-schedule';
import { createPacketFilter, iptablesBinary, packetFilterTag, type PacketFilter } from './packet-filter';

/**
 * The net-refuse rules against this machine's kernel: a rule on a fault proxy's port turns down new
 * connections to that proxy with the errno a client sees when a route or a service is gone, while the
 * service itself and other ports stay reachable. Needs iptables and root; skipped (and said so) without.
 */

const iptables = spawnSync(iptablesBinary(), ['-w', '5', '-S', 'OUTPUT'], { encoding: 'utf8' });
const usable = iptables.status === 0;
const itWithIptables = usable ? it : it.skip;
if (!usable) {
  process.stderr.write(
    `packet-filter.int.test: iptables unusable here (${iptables.error?.message ?? iptables.stderr.trim()}); skipped\n`,
  );
}

/** How a connection attempt to host:port ends: 'connected' or the errno. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('net-refuse packet filter rules', () => {
  let service: net.Server;
  let proxy: FaultProxy;
  let filter: PacketFilter;
  let servicePort = 0;

  beforeAll(async () => {
    // The probes close at once: the service's side may see a reset, which must not become an uncaught error.
    service = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end();
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    servicePort = (service.address() as net.AddressInfo).port;
    proxy = await startFaultProxy({ name: 'refuse-probe', targetHost: '127.0.0.1', targetPort: servicePort });
    filter = createPacketFilter({ tag: packetFilterTag('packet-filter-int-test') });
  });

  afterAll(async () => {
    if (usable) await filter.removeTagged();
    await proxy.close();
    await new Promise((resolve) => service.close(resolve));
  });

  itWithIptables('can be used here', async () => {
    expect(await filter.unavailable()).toBeUndefined();
  });

  const expected: Array<[ConnectionRefusal, string]> = [
    ['icmp-host-unreachable', 'EHOSTUNREACH'],
    ['icmp-net-unreachable', 'ENETUNREACH'],
    ['tcp-reset', 'ECONNREFUSED'],
  ];
  for (const [refusal, errno] of expected) {
    itWithIptables(
      `${refusal}: the client connecting through the proxy gets ${errno}, the service stays reachable`,
      async () => {
        const rule = { host: proxy.host, port: proxy.port, refusal };
        expect(await connectOutcome(proxy.port)).toBe('connected');
        await filter.refuse(rule);
        try {
          expect(await connectOutcome(proxy.port)).toBe(errno);
          // The proxy's own connection to the service, and everyone else's, is another port.
          expect(await connectOutcome(servicePort)).toBe('connected');
        } finally {
          await filter.remove(rule);
        }
        expect(await connectOutcome(proxy.port)).toBe('connected');
      },
    );
  }

  itWithIptables("heals by removing every rule of the run, and only the run's", async () => {
    const otherRun = createPacketFilter({ tag: packetFilterTag('packet-filter-int-other') });
    const otherRule = { host: '127.0.0.1', port: servicePort, refusal: 'tcp-reset' } as const;
    await otherRun.refuse(otherRule);
    try {
      await filter.refuse({ host: proxy.host, port: proxy.port, refusal: 'icmp-host-unreachable' });
      await filter.refuse({ host: proxy.host, port: proxy.port, refusal: 'tcp-reset' });
      expect(await filter.removeTagged()).toBe(2);
      expect(await connectOutcome(proxy.port)).toBe('connected');
      expect(await connectOutcome(servicePort)).toBe('ECONNREFUSED');
    } finally {
      await otherRun.remove(otherRule);
    }
    expect(await connectOutcome(servicePort)).toBe('connected');
  });
});
