import net, { type Server, type Socket } from 'node:net';

/**
 * What the proxy does to the traffic it relays. Applies to open connections as soon as it is set.
 *
 * - `pass`: plain forwarding.
 * - `latency`: every chunk, in both directions, is held for `ms` ± `jitterMs` (uniform, never below 0,
 *   as `tc netem delay ms jitter`), behind the chunks received before it: order is kept per direction,
 *   so a short delay never overtakes a longer one.
 * - `blackhole`: a partition. Open connections stay open and new ones are accepted but never connected to
 *   the target; nothing is forwarded either way, and bytes (and closes) received meanwhile are dropped,
 *   not buffered. Leaving `blackhole` resets every connection that lived through it: the stalled clients
 *   see a reset and reconnect, instead of seeing a stream with a hole in it.
 * - `reset`: every open connection is reset (TCP RST on both sides), and so is every new one as soon as it
 *   is accepted, until the mode changes.
 */
export type FaultMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'latency'; readonly ms: number; readonly jitterMs?: number }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'reset' };

/** A host and port. */
export interface FaultProxyEndpoint {
  readonly host: string;
  readonly port: number;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Name in reports and logs, e.g. `postgres`. */
  name: string;
  targetHost: string;
  targetPort: number;
  /** Defaults to 127.0.0.1. */
  listenHost?: string;
  /** Defaults to 0: an ephemeral port, read back from {@link FaultProxy.port}. */
  listenPort?: number;
  /** Defaults to `pass`. */
  initialMode?: FaultMode;
  /** Source of the latency jitter, uniform in [0, 1); defaults to Math.random. */
  random?: () => number;
}

/** Counters since the proxy started. Byte counts are bytes written on to the other side. */
export interface FaultProxyStats {
  connectionsAccepted: number;
  /** Connections with at least one side still open. */
  connectionsOpen: number;
  bytesClientToTarget: number;
  bytesTargetToClient: number;
  /** Bytes received and discarded by `blackhole`, both directions. */
  bytesDropped: number;
  /** Connections reset by the `reset` mode, open ones and new ones. */
  connectionsReset: number;
  /** Connections reset because `blackhole` ended. */
  connectionsCutOnHeal: number;
  /** Connections the target refused or failed to open (the client side is closed). */
  targetConnectFailures: number;
}

/** A running proxy from {@link FaultProxy.host}:{@link FaultProxy.port} to {@link FaultProxy.target}. */
export interface FaultProxy {
  readonly name: string;
  readonly host: string;
  /** The port actually listened on. */
  readonly port: number;
  readonly target: FaultProxyEndpoint;
  /** The current mode. */
  readonly mode: FaultMode;
  /** Switches mode; throws RangeError on a latency that is negative or not finite. */
  setMode(mode: FaultMode): void;
  stats(): FaultProxyStats;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

/** The mode as a short phrase for reports: `pass`, `latency 200±50 ms`, `blackhole`, `reset`. */
export function formatFaultMode(mode: FaultMode): string {
  switch (mode.kind) {
    case 'latency':
      return mode.jitterMs ? `latency ${mode.ms}±${mode.jitterMs} ms` : `latency ${mode.ms} ms`;
    default:
      return mode.kind;
  }
}

/** Above this many delayed bytes in one direction the sending side is paused, as with a full socket. */
const QUEUE_HIGH_WATER_BYTES = 1024 * 1024;

function validatedMode(mode: FaultMode): FaultMode {
  if (mode.kind !== 'latency') return Object.freeze({ kind: mode.kind });
  const jitterMs = mode.jitterMs ?? 0;
  if (!Number.isFinite(mode.ms) || mode.ms < 0 || !Number.isFinite(jitterMs) || jitterMs < 0) {
    throw new RangeError(`Latency must be finite and not negative, got ${formatFaultMode(mode)}`);
  }
  return Object.freeze({ kind: 'latency', ms: mode.ms, jitterMs });
}

/** Resets with an RST where the socket is connected; a socket still connecting is just destroyed. */
function resetSocket(socket: Socket | undefined): void {
  if (!socket || socket.destroyed) return;
  if (socket.connecting) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/**
 * One direction of a connection. Chunks are forwarded in arrival order through one FIFO queue with one
 * timer for its head, so a chunk is released at its own time or its predecessor's, whichever is later.
 */
class ChunkPipe {
  private readonly queue: { chunk: Buffer; releaseAtMs: number }[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private sourceEnded = false;
  private discarded = false;

  constructor(
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly delayMs: () => number,
    private readonly onForwarded: (bytes: number) => void,
  ) {
    dest.on('drain', () => this.updateFlow());
  }

  push(chunk: Buffer): void {
    if (this.discarded) return;
    const delayMs = this.delayMs();
    if (delayMs <= 0 && this.queue.length === 0) {
      this.write(chunk);
    } else {
      this.queue.push({ chunk, releaseAtMs: performance.now() + delayMs });
      this.queuedBytes += chunk.length;
      if (this.queue.length === 1) this.flush();
    }
    this.updateFlow();
  }

  /** The source sent FIN: end the destination once everything before it has been forwarded. */
  end(): void {
    this.sourceEnded = true;
    if (this.queue.length === 0 && !this.discarded) this.dest.end();
  }

  /** Drops what is queued and everything pushed from now on; returns the bytes dropped. */
  discard(): number {
    const dropped = this.queuedBytes;
    this.discarded = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    return dropped;
  }

  private flush(): void {
    this.timer = undefined;
    const nowMs = performance.now();
    for (let due = this.queue[0]; due && due.releaseAtMs <= nowMs; due = this.queue[0]) {
      this.queue.shift();
      this.queuedBytes -= due.chunk.length;
      this.write(due.chunk);
    }
    const head = this.queue[0];
    if (head) {
      // Timers may fire up to a millisecond early; the loop above re-arms until the head is due.
      this.timer = setTimeout(() => this.flush(), Math.max(1, Math.ceil(head.releaseAtMs - nowMs)));
    } else if (this.sourceEnded) {
      this.dest.end();
    }
    this.updateFlow();
  }

  private write(chunk: Buffer): void {
    if (this.dest.destroyed || this.dest.writableEnded) return;
    this.dest.write(chunk);
    this.onForwarded(chunk.length);
  }

  /** Backpressure: the source reads only while the destination and the delay queue have room. */
  private updateFlow(): void {
    if (this.discarded || this.source.destroyed) return;
    const full = this.dest.writableNeedDrain || this.queuedBytes > QUEUE_HIGH_WATER_BYTES;
    if (full && !this.source.isPaused()) this.source.pause();
    else if (!full && this.source.isPaused()) this.source.resume();
  }
}

type Stats = Omit<FaultProxyStats, 'connectionsOpen'>;

/** A client connection and, once opened, its connection to the target. */
class ProxiedConnection {
  blackholed = false;
  private upstream: Socket | undefined;
  private upstreamConnected = false;
  private toTarget: ChunkPipe | undefined;
  private toClient: ChunkPipe | undefined;

  constructor(
    private readonly client: Socket,
    private readonly proxy: {
      readonly target: FaultProxyEndpoint;
      readonly stats: Stats;
      delayMs(): number;
      forget(connection: ProxiedConnection): void;
    },
  ) {
    client.setNoDelay(true);
    client.on('error', (error: NodeJS.ErrnoException) => this.onSideFailed(this.upstream, error));
    client.on('data', (chunk: Buffer) => this.onData(this.toTarget, chunk));
    client.on('end', () => this.onEnd(this.toTarget));
    client.on('close', () => this.onSideClosed(client, this.upstream));
  }

  /** Opens the target side; the client stays paused (pauseOnConnect) until it is connected. */
  connect(): void {
    const { stats, target } = this.proxy;
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.upstreamConnected) stats.targetConnectFailures += 1;
      this.onSideFailed(this.client, error);
    });
    upstream.on('data', (chunk: Buffer) => this.onData(this.toClient, chunk));
    upstream.on('end', () => this.onEnd(this.toClient));
    upstream.on('close', () => this.onSideClosed(upstream, this.client));
    upstream.on('connect', () => {
      this.upstreamConnected = true;
      if (this.blackholed) return;
      const delayMs = () => this.proxy.delayMs();
      this.toTarget = new ChunkPipe(this.client, upstream, delayMs, (n) => (stats.bytesClientToTarget += n));
      this.toClient = new ChunkPipe(upstream, this.client, delayMs, (n) => (stats.bytesTargetToClient += n));
      this.client.resume();
    });
  }

  /** Stops forwarding; both sides keep being read so that what they send is dropped, not buffered. */
  blackhole(): void {
    if (this.blackholed) return;
    this.blackholed = true;
    this.proxy.stats.bytesDropped += (this.toTarget?.discard() ?? 0) + (this.toClient?.discard() ?? 0);
    this.client.resume();
    this.upstream?.resume();
  }

  reset(): void {
    resetSocket(this.client);
    resetSocket(this.upstream);
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }

  private onData(pipe: ChunkPipe | undefined, chunk: Buffer): void {
    if (this.blackholed || !pipe) this.proxy.stats.bytesDropped += chunk.length;
    else pipe.push(chunk);
  }

  private onEnd(pipe: ChunkPipe | undefined): void {
    if (!this.blackholed) pipe?.end();
  }

  /** A failure on one side takes the other down too (a reset as a reset), except across a partition. */
  private onSideFailed(other: Socket | undefined, error: NodeJS.ErrnoException): void {
    if (this.blackholed) return;
    if (error.code === 'ECONNRESET') resetSocket(other);
    else other?.destroy();
  }

  private onSideClosed(side: Socket, other: Socket | undefined): void {
    // A side that closed after a full exchange of FINs leaves the other to finish its own direction.
    const clean = side.readableEnded && side.writableFinished;
    if (!this.blackholed && !clean) other?.destroy();
    if (this.client.destroyed && (!this.upstream || this.upstream.destroyed)) this.proxy.forget(this);
  }
}

/** Starts a TCP proxy to the target and resolves once it listens. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { name, targetHost, targetPort } = options;
  const random = options.random ?? Math.random;
  const target: FaultProxyEndpoint = Object.freeze({ host: targetHost, port: targetPort });
  const connections = new Set<ProxiedConnection>();
  const stats: Stats = {
    connectionsAccepted: 0,
    bytesClientToTarget: 0,
    bytesTargetToClient: 0,
    bytesDropped: 0,
    connectionsReset: 0,
    connectionsCutOnHeal: 0,
    targetConnectFailures: 0,
  };
  let mode = validatedMode(options.initialMode ?? { kind: 'pass' });
  let closing: Promise<void> | undefined;

  const context = {
    target,
    stats,
    delayMs(): number {
      if (mode.kind !== 'latency') return 0;
      const jitterMs = mode.jitterMs ?? 0;
      return Math.max(0, mode.ms + (2 * random() - 1) * jitterMs);
    },
    forget(connection: ProxiedConnection): void {
      connections.delete(connection);
    },
  };

  const server: Server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    stats.connectionsAccepted += 1;
    if (closing || mode.kind === 'reset') {
      client.on('error', () => undefined);
      if (!closing) stats.connectionsReset += 1;
      resetSocket(client);
      return;
    }
    const connection = new ProxiedConnection(client, context);
    connections.add(connection);
    if (mode.kind === 'blackhole') connection.blackhole();
    else connection.connect();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, options.listenHost ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Once listening, accept errors (EMFILE and the like) drop that one client; the proxy carries on.
  server.on('error', () => undefined);
  const address = server.address() as net.AddressInfo;

  return {
    name,
    host: address.address,
    port: address.port,
    target,
    get mode(): FaultMode {
      return mode;
    },
    setMode(next: FaultMode): void {
      mode = validatedMode(next);
      if (mode.kind === 'reset') {
        for (const connection of connections) {
          stats.connectionsReset += 1;
          connection.reset();
        }
      } else if (mode.kind === 'blackhole') {
        for (const connection of connections) connection.blackhole();
      } else {
        for (const connection of connections) {
          if (!connection.blackholed) continue;
          stats.connectionsCutOnHeal += 1;
          connection.reset();
        }
      }
    },
    stats(): FaultProxyStats {
      return { ...stats, connectionsOpen: connections.size };
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of connections) connection.destroy();
      });
      return closing;
    },
  };
}
