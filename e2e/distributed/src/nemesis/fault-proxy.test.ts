import { randomBytes } from 'node:crypto';
import net, { type Server, type Socket } from 'node:net';
import { waitFor } from '@els/test-kit';
import { formatFaultMode, startFaultProxy, type FaultProxy, type FaultProxyOptions } from './fault-proxy';

/** A TCP echo server on 127.0.0.1 that counts and can reset the connections it accepted. */
interface EchoServer {
  readonly port: number;
  accepted(): number;
  resetAll(): void;
  close(): Promise<void>;
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

async function startEchoServer(port = 0): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  const boundPort = await listen(server, port);
  return {
    port: boundPort,
    accepted: () => accepted,
    resetAll: () => sockets.forEach((socket) => socket.resetAndDestroy()),
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A client socket that records what it receives and how it ended. */
interface TestClient {
  readonly socket: Socket;
  received(): Buffer;
  isClosed(): boolean;
  gotEnd(): boolean;
  error(): NodeJS.ErrnoException | undefined;
}

const clients: TestClient[] = [];
const echoServers: EchoServer[] = [];
const proxies: FaultProxy[] = [];

/** Resolves once connected, or once closed if the proxy resets the connection straight away. */
async function connectClient(port: number): Promise<TestClient> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  let closed = false;
  let ended = false;
  let lastError: NodeJS.ErrnoException | undefined;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('end', () => (ended = true));
  socket.on('error', (error: NodeJS.ErrnoException) => (lastError = error));
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', resolve);
  });
  const client: TestClient = {
    socket,
    received: () => Buffer.concat(chunks),
    isClosed: () => closed,
    gotEnd: () => ended,
    error: () => lastError,
  };
  clients.push(client);
  return client;
}

async function echoServer(port?: number): Promise<EchoServer> {
  const server = await startEchoServer(port);
  echoServers.push(server);
  return server;
}

async function proxyTo(
  target: EchoServer | number,
  options: Partial<FaultProxyOptions> = {},
): Promise<FaultProxy> {
  const targetPort = typeof target === 'number' ? target : target.port;
  const proxy = await startFaultProxy({ name: 'echo', targetHost: '127.0.0.1', targetPort, ...options });
  proxies.push(proxy);
  return proxy;
}

const fast = { timeoutMs: 3000, intervalMs: 2 };

async function receivedAtLeast(client: TestClient, bytes: number, description: string): Promise<void> {
  await waitFor(description, () => client.received().length >= bytes, fast);
}

async function closed(client: TestClient, description: string): Promise<void> {
  await waitFor(description, () => client.isClosed(), fast);
}

/** Round trip of one small message through the proxy, in ms. */
async function roundTripMs(client: TestClient): Promise<number> {
  const before = client.received().length;
  const startedMs = performance.now();
  client.socket.write('ping');
  await receivedAtLeast(client, before + 4, 'the echo of ping');
  return performance.now() - startedMs;
}

/** Asserting that nothing arrives needs a window; this one is long against loopback round trips. */
const silenceWindowMs = 300;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  clients.splice(0).forEach((client) => client.socket.destroy());
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(echoServers.splice(0).map((server) => server.close()));
});

describe('fault proxy', () => {
  it('forwards a 4 MiB payload byte for byte in pass mode and counts it', async () => {
    const proxy = await proxyTo(await echoServer());
    expect(proxy.mode).toEqual({ kind: 'pass' });
    expect(proxy.port).toBeGreaterThan(0);
    const payload = randomBytes(4 * 1024 * 1024);
    const client = await connectClient(proxy.port);
    client.socket.end(payload);
    await waitFor('the end of the echo', () => client.gotEnd(), fast);
    expect(client.received().equals(payload)).toBe(true);
    await closed(client, 'the client closed after FIN both ways');
    await waitFor('the proxy to forget the connection', () => proxy.stats().connectionsOpen === 0, fast);
    expect(proxy.stats()).toEqual({
      connectionsAccepted: 1,
      connectionsOpen: 0,
      bytesClientToTarget: payload.length,
      bytesTargetToClient: payload.length,
      bytesDropped: 0,
      connectionsReset: 0,
      connectionsCutOnHeal: 0,
      targetConnectFailures: 0,
    });
  });

  it('delays every chunk both ways, so a round trip takes at least twice the latency', async () => {
    const proxy = await proxyTo(await echoServer());
    const client = await connectClient(proxy.port);
    expect(await roundTripMs(client)).toBeLessThan(40);
    proxy.setMode({ kind: 'latency', ms: 40 });
    expect(proxy.mode).toEqual({ kind: 'latency', ms: 40, jitterMs: 0 });
    const delayedMs = await roundTripMs(client);
    expect(delayedMs).toBeGreaterThanOrEqual(80);
    expect(delayedMs).toBeLessThan(1000);
    proxy.setMode({ kind: 'pass' });
    expect(await roundTripMs(client)).toBeLessThan(40);
  });

  it('adds jitter from the supplied random source around the latency', async () => {
    const proxy = await proxyTo(await echoServer(), { random: () => 0.999 });
    const client = await connectClient(proxy.port);
    proxy.setMode({ kind: 'latency', ms: 20, jitterMs: 30 });
    expect(await roundTripMs(client)).toBeGreaterThanOrEqual(2 * 49);
  });

  it('keeps byte order under many small writes with alternating jitter and a switch back to pass', async () => {
    let draw = 0;
    // Chunk delays alternate 35 ms and 5 ms: chunks on independent timers would overtake each other.
    const proxy = await proxyTo(await echoServer(), { random: () => (draw++ % 2 === 0 ? 1 : 0) });
    proxy.setMode({ kind: 'latency', ms: 20, jitterMs: 15 });
    const client = await connectClient(proxy.port);
    const sent: Buffer[] = [];
    for (let i = 0; i < 120; i += 1) {
      if (i === 80) proxy.setMode({ kind: 'pass' });
      const chunk = Buffer.from(`${i};`);
      sent.push(chunk);
      client.socket.write(chunk);
      await pause(1);
    }
    client.socket.end();
    await waitFor('the end of the echo', () => client.gotEnd(), fast);
    expect(client.received().toString()).toBe(Buffer.concat(sent).toString());
    expect(draw).toBeGreaterThan(20);
  });

  it('forwards a 2 MiB payload intact under latency (the delay queue applies backpressure)', async () => {
    const proxy = await proxyTo(await echoServer(), { initialMode: { kind: 'latency', ms: 5 } });
    const payload = randomBytes(2 * 1024 * 1024);
    const client = await connectClient(proxy.port);
    client.socket.end(payload);
    await waitFor('the end of the echo', () => client.gotEnd(), fast);
    expect(client.received().equals(payload)).toBe(true);
  });

  it('stalls open and new connections in blackhole and resets them when the partition heals', async () => {
    const target = await echoServer();
    const proxy = await proxyTo(target);
    const open = await connectClient(proxy.port);
    open.socket.write('a');
    await receivedAtLeast(open, 1, 'the echo before the partition');

    proxy.setMode({ kind: 'blackhole' });
    open.socket.write('lost');
    const hung = await connectClient(proxy.port);
    expect(hung.isClosed()).toBe(false);
    hung.socket.write('b');
    await pause(silenceWindowMs);
    expect(open.received().toString()).toBe('a');
    expect(hung.received().length).toBe(0);
    expect(open.isClosed() || hung.isClosed()).toBe(false);
    expect(target.accepted()).toBe(1);
    expect(proxy.stats()).toMatchObject({ connectionsOpen: 2, bytesDropped: 5 });

    proxy.setMode({ kind: 'pass' });
    await closed(open, 'the open connection reset on heal');
    await closed(hung, 'the hung connection reset on heal');
    expect(open.received().toString()).toBe('a');
    expect(proxy.stats().connectionsCutOnHeal).toBe(2);

    const fresh = await connectClient(proxy.port);
    fresh.socket.write('after');
    await receivedAtLeast(fresh, 5, 'the echo after healing');
    expect(fresh.received().toString()).toBe('after');
  });

  it('resets open connections and every new one in reset mode, and forwards again in pass', async () => {
    const target = await echoServer();
    const proxy = await proxyTo(target);
    const open = await connectClient(proxy.port);
    open.socket.write('x');
    await receivedAtLeast(open, 1, 'the echo before the reset');

    proxy.setMode({ kind: 'reset' });
    await closed(open, 'the open connection reset');
    expect(open.error()?.code).toBe('ECONNRESET');

    const refused = await connectClient(proxy.port);
    refused.socket.write('y');
    await closed(refused, 'a new connection reset on accept');
    expect(refused.received().length).toBe(0);
    expect(target.accepted()).toBe(1);
    expect(proxy.stats()).toMatchObject({ connectionsAccepted: 2, connectionsReset: 2 });

    proxy.setMode({ kind: 'pass' });
    const fresh = await connectClient(proxy.port);
    fresh.socket.write('z');
    await receivedAtLeast(fresh, 1, 'the echo after reset mode');
  });

  it('closes the client when the target is down and carries on once it is back', async () => {
    const target = await echoServer();
    const { port } = target;
    const proxy = await proxyTo(target);
    await target.close();

    const client = await connectClient(proxy.port);
    await closed(client, 'the client of an unreachable target closed');
    expect(client.received().length).toBe(0);
    await waitFor('the proxy to forget the connection', () => proxy.stats().connectionsOpen === 0, fast);
    expect(proxy.stats().targetConnectFailures).toBe(1);

    const restarted = await echoServer(port);
    const retry = await connectClient(proxy.port);
    retry.socket.write('back');
    await receivedAtLeast(retry, 4, 'the echo once the target is back');

    restarted.resetAll();
    await closed(retry, 'the client whose target connection was reset');
    expect(retry.error()?.code).toBe('ECONNRESET');
    expect(proxy.stats().targetConnectFailures).toBe(1);
  });

  it('close() destroys every connection, stops listening and can be called again', async () => {
    const proxy = await proxyTo(await echoServer());
    const forwarding = await connectClient(proxy.port);
    forwarding.socket.write('1');
    await receivedAtLeast(forwarding, 1, 'the echo before closing');
    proxy.setMode({ kind: 'latency', ms: 1000 });
    forwarding.socket.write('queued');
    const delayed = await connectClient(proxy.port);
    proxy.setMode({ kind: 'blackhole' });
    const hung = await connectClient(proxy.port);

    await proxy.close();
    await closed(forwarding, 'the forwarding connection closed');
    await closed(delayed, 'the delayed connection closed');
    await closed(hung, 'the hung connection closed');
    expect(proxy.stats().connectionsOpen).toBe(0);
    await expect(proxy.close()).resolves.toBeUndefined();

    const late = await connectClient(proxy.port);
    expect(late.isClosed()).toBe(true);
    expect(late.error()?.code).toBe('ECONNREFUSED');
  });

  it('rejects a negative or non-finite latency', async () => {
    const proxy = await proxyTo(await echoServer());
    expect(() => proxy.setMode({ kind: 'latency', ms: -1 })).toThrow(RangeError);
    expect(() => proxy.setMode({ kind: 'latency', ms: 10, jitterMs: Number.NaN })).toThrow(RangeError);
    expect(proxy.mode).toEqual({ kind: 'pass' });
  });

  it('formats modes for reports', () => {
    expect(formatFaultMode({ kind: 'pass' })).toBe('pass');
    expect(formatFaultMode({ kind: 'latency', ms: 200, jitterMs: 50 })).toBe('latency 200±50 ms');
    expect(formatFaultMode({ kind: 'latency', ms: 200 })).toBe('latency 200 ms');
    expect(formatFaultMode({ kind: 'blackhole' })).toBe('blackhole');
    expect(formatFaultMode({ kind: 'reset' })).toBe('reset');
  });
});
