import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import type postgres from 'postgres';
import { createDatabase, type Sql } from './database';
import { ERROR_CODES } from './error-catalogue';
import { coerceError, FAILURE_RULES, failureRule, UNEXPECTED_FAILURE, type FailureRule } from './errors';
import { describeFailureMatch } from './errors-doc';
import { probeDatabaseWritable } from './sql/deployment';
import { waitFor } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from './testing';

/**
 * Every row of FAILURE_RULES (and the unexpected row) against the real PostgreSQL of the local stack: each
 * failure is provoked through postgres.js, configured as the worker configures it (createDatabase), and
 * what the driver reports must be classified by that row. A row whose failure cannot be provoked here says
 * why, and is exercised with the same SQLSTATE sent by the server from PL/pgSQL instead, so the driver's
 * error fields are still real. A rule added to the table without a test here fails this file.
 */

let db: TestDatabase;
const pools: Sql[] = [];
const listeners: Array<() => Promise<void>> = [];

/** A pool like the worker's; ended in afterAll. */
function pool(url: string, options: { connectTimeoutS?: number; applicationName?: string } = {}): Sql {
  const sql = createDatabase(url, {
    max: 1,
    applicationName: options.applicationName ?? 'els-failure-classes',
    connectTimeoutS: options.connectTimeoutS ?? 5,
  });
  pools.push(sql);
  return sql;
}

/** What the worker's catch sees when `work` fails; fails the test if it succeeds. */
async function failureOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the statement to fail, but it succeeded');
}

/** A query's rejection as a value, so several can be in flight (postgres.js sends a query once awaited). */
const settled = (query: PromiseLike<unknown>): Promise<unknown> =>
  Promise.resolve(query).then(
    () => undefined,
    (error: unknown) => error,
  );

function fieldsOf(error: unknown): { code?: string; routine?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const { code, routine } = error as { code?: unknown; routine?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof routine === 'string' ? { routine } : {}),
  };
}

function classification(error: unknown) {
  const coerced = coerceError(error);
  return { code: coerced.code, retry: coerced.retry, retriable: coerced.retriable };
}

const expected = (rule: Omit<FailureRule, 'match'>) => ({
  code: rule.code,
  retry: rule.retry,
  retriable: rule.retry !== 'never',
});

/** The failure is recognised by exactly this row and classified with its code and policy. */
function expectRow(error: unknown, rule: FailureRule): void {
  expect(failureRule(error)).toBe(rule);
  expect(classification(error)).toEqual(expected(rule));
}

const keyOf = (rule: FailureRule) => ('errnos' in rule.match ? 'errnos' : describeFailureMatch(rule.match));
const rowsWithTests = new Set<string>();

/** The row whose Match is `key` (`class 08`, `25006`, `errnos`); a row gone from the table fails here. */
function rowOf(key: string): FailureRule {
  const rule = FAILURE_RULES.find((candidate) => keyOf(candidate) === key);
  if (!rule) throw new Error(`FAILURE_RULES has no row "${key}"; update failure-classes.int.test.ts`);
  return rule;
}

/** The tests of one row; registered while jest collects, so the coverage test below sees all of them. */
function describeRow(key: string, body: (rule: FailureRule) => void): void {
  const rule = rowOf(key);
  rowsWithTests.add(key);
  describe(`the row "${key}" (${rule.code}, ${rule.retry})`, () => body(rule));
}

/** Runs `work` on one connection of the test database; rolls back whatever it left open. */
async function onReserved<T>(work: (session: postgres.ReservedSql) => Promise<T>): Promise<T> {
  const session = await db.sql.reserve();
  try {
    return await work(session);
  } finally {
    await session.unsafe('rollback').catch(() => undefined);
    session.release();
  }
}

async function backendPid(session: Sql): Promise<number> {
  const [row] = await session<Array<{ pid: number }>>`select pg_backend_pid() as pid`;
  if (!row) throw new Error('pg_backend_pid() returned no row');
  return row.pid;
}

/** Waits until the backend `pid` is in a state (`'gone'`: no longer in pg_stat_activity). */
async function backendState(pid: number, state: 'waiting on a lock' | 'active' | 'gone'): Promise<void> {
  await waitFor(
    `backend ${pid} ${state}`,
    async () => {
      const [row] = await db.sql<Array<{ state: string | null; waitEventType: string | null }>>`
        select state, wait_event_type as "waitEventType" from pg_stat_activity where pid = ${pid}`;
      if (state === 'gone') return row === undefined;
      if (state === 'active') return row?.state === 'active';
      return row?.waitEventType === 'Lock';
    },
    { timeoutMs: 10_000, intervalMs: 10 },
  );
}

/** A TCP listener of this test on loopback; `onConnection` decides what the "server" does. */
async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  listeners.push(close);
  return (server.address() as net.AddressInfo).port;
}

/** A loopback port nothing listens on (one of ours, closed again). */
async function closedPort(): Promise<number> {
  const port = await listen(() => undefined);
  await listeners.pop()?.();
  return port;
}

const urlAt = (host: string, port: number) => `postgres://postgres@${host}:${port}/postgres`;

// iptables rules this file adds, tagged with its pid; each test removes its own, afterAll any left over.
const IPTABLES_TAG = `els-failure-classes-${process.pid}`;
const iptablesRules = new Set<string[]>();
const iptablesUnusable = ((): string | undefined => {
  const probe = spawnSync('iptables', ['-w', '-S', 'OUTPUT'], { encoding: 'utf8' });
  if (probe.error) return `iptables cannot run here (${probe.error.message})`;
  if (probe.status !== 0) return `iptables is not usable here (${probe.stderr.trim()})`;
  return undefined;
})();
const itWithIptables = (name: string, test: () => Promise<void>) =>
  iptablesUnusable ? it.skip(`${name} [skipped: ${iptablesUnusable}]`, test) : it(name, test);

/** Loopback connections to `port` are answered with an ICMP error while `work` runs. */
async function withIcmpReject<T>(port: number, icmp: string, work: () => Promise<T>): Promise<T> {
  const rule = ['OUTPUT', '-p', 'tcp', '-d', '127.0.0.1', '--dport', String(port)];
  rule.push('-m', 'comment', '--comment', IPTABLES_TAG, '-j', 'REJECT', '--reject-with', icmp);
  execFileSync('iptables', ['-w', '-I', ...rule]);
  iptablesRules.add(rule);
  try {
    return await work();
  } finally {
    execFileSync('iptables', ['-w', '-D', ...rule]);
    iptablesRules.delete(rule);
  }
}

const ROLE = `els_failure_classes_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql`create table failure_rows (id int primary key, v int not null)`;
  await db.sql`insert into failure_rows values (1, 0), (2, 0)`;
  await db.sql`create table failure_parents (id int primary key)`;
  await db.sql`create table failure_children (parent_id int not null references failure_parents)`;
});

afterAll(async () => {
  await Promise.all(pools.splice(0).map((sql) => sql.end({ timeout: 0 })));
  await Promise.all(listeners.splice(0).map((close) => close()));
  for (const rule of iptablesRules) execFileSync('iptables', ['-w', '-D', ...rule]);
  await db.sql.unsafe(`drop role if exists ${ROLE}`);
  await db.drop();
  // Nothing of this file is left on the host: no firewall rule carries its tag.
  const firewall = iptablesUnusable
    ? ''
    : execFileSync('iptables', ['-w', '-S', 'OUTPUT'], { encoding: 'utf8' });
  expect(firewall).not.toContain(IPTABLES_TAG);
});

describeRow('errnos', (rule) => {
  // Not provoked here, and why. Each errno of the table is either provoked below or listed here.
  const notProvoked: Record<string, string> = {
    ECONNABORTED: 'Linux reports it for a connection aborted before accept(), not to a connecting client',
    EPIPE: 'a write after the peer closed; postgres.js sees the close (CONNECTION_CLOSED, ECONNRESET) first',
    ETIMEDOUT: "the kernel's SYN retries take minutes; the write probe's own timeout reports it (below)",
    EHOSTDOWN: 'needs a peer that stopped answering ARP on a real link',
    ENETDOWN: 'needs a network interface taken down, which would disturb the shared host',
    ENETRESET: 'needs a network interface reset',
    ENOTCONN: 'a write on a socket that never connected; postgres.js writes only after connect',
    EADDRNOTAVAIL: 'needs the local ephemeral ports exhausted',
  };
  const provoked = [
    'ECONNREFUSED',
    'ECONNRESET',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENOTFOUND',
    'EAI_AGAIN', // where no resolver answers, in place of ENOTFOUND (same test)
    'CONNECTION_CLOSED', // under "class 25" (idle-in-transaction timeout) and "class 57" (terminated)
    'CONNECTION_ENDED',
    'CONNECTION_DESTROYED',
    'CONNECT_TIMEOUT',
  ];

  it('covers every errno of the table, provoked below or named as not producible here', () => {
    const listed = 'errnos' in rule.match ? [...rule.match.errnos] : [];
    expect([...provoked, ...Object.keys(notProvoked)].sort()).toEqual(listed.sort());
  });

  it('a connection to a port nothing listens on fails with ECONNREFUSED', async () => {
    const error = await failureOf(async () => pool(urlAt('127.0.0.1', await closedPort()))`select 1`);
    expect(fieldsOf(error).code).toBe('ECONNREFUSED');
    expectRow(error, rule);
  });

  it('a server that resets the connection during the handshake fails with ECONNRESET', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const error = await failureOf(() => pool(urlAt('127.0.0.1', port))`select 1`);
    expect(fieldsOf(error).code).toBe('ECONNRESET');
    expectRow(error, rule);
  });

  for (const [icmp, errno] of [
    ['icmp-host-unreachable', 'EHOSTUNREACH'],
    ['icmp-net-unreachable', 'ENETUNREACH'],
  ] as const) {
    itWithIptables(`a connection answered by ${icmp} fails with ${errno}`, async () => {
      const port = await listen((socket) => socket.destroy());
      const error = await withIcmpReject(port, icmp, () =>
        failureOf(() => pool(urlAt('127.0.0.1', port))`select 1`),
      );
      expect(fieldsOf(error).code).toBe(errno);
      expectRow(error, rule);
    });
  }

  it('a host name that cannot resolve fails with ENOTFOUND (EAI_AGAIN where no resolver answers)', async () => {
    // .invalid never resolves (RFC 6761).
    const error = await failureOf(() => pool(urlAt('els-failure-classes.invalid', 5432))`select 1`);
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(fieldsOf(error).code);
    expectRow(error, rule);
  });

  it('a server that accepts but never answers the startup fails with CONNECT_TIMEOUT', async () => {
    const port = await listen(() => undefined);
    const error = await failureOf(() => pool(urlAt('127.0.0.1', port), { connectTimeoutS: 0.2 })`select 1`);
    expect(fieldsOf(error).code).toBe('CONNECT_TIMEOUT');
    expectRow(error, rule);
  });

  it('a query on a pool that was ended fails with CONNECTION_ENDED', async () => {
    const sql = pool(db.url);
    await sql`select 1`;
    await sql.end();
    const error = await failureOf(() => sql`select 1`);
    expect(fieldsOf(error).code).toBe('CONNECTION_ENDED');
    expectRow(error, rule);
  });

  it('a query running while its pool is destroyed fails with CONNECTION_DESTROYED', async () => {
    const applicationName = `els-destroyed-${randomUUID().slice(0, 8)}`;
    const sql = pool(db.url, { applicationName });
    const running = settled(sql`select pg_sleep(30)`);
    await waitFor('the sleeping query to run', async () => {
      const rows = await db.sql`
        select 1 from pg_stat_activity where application_name = ${applicationName} and state = 'active'`;
      return rows.length === 1;
    });
    await sql.end({ timeout: 0 });
    const error = await running;
    expect(fieldsOf(error).code).toBe('CONNECTION_DESTROYED');
    expectRow(error, rule);
    await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${applicationName}`;
  });
});

describeRow('class 08', (rule) => {
  // Most other class 08 errors concern a socket that is already gone, so they reach the server log, not
  // the client (08006 could not receive data from client); a dropped connection arrives as an errno.
  // This one is a client fault the server answers with an ERROR, and is retried without limit too.
  it('a bind message with fewer parameters than the statement has is a protocol violation (08P01)', async () => {
    const error = await failureOf(() => db.sql.unsafe('select $1::int as a, $2::int as b', [1]));
    expect(fieldsOf(error)).toEqual({ code: '08P01', routine: 'exec_bind_message' });
    expectRow(error, rule);
  });
});

/** Sets default_transaction_read_only on the test database while `work` runs in new sessions. */
async function withReadOnlyDatabase<T>(work: () => Promise<T>): Promise<T> {
  await db.sql.unsafe(`alter database "${db.name}" set default_transaction_read_only = on`);
  try {
    return await work();
  } finally {
    await db.sql.unsafe(`alter database "${db.name}" reset default_transaction_read_only`);
  }
}

describeRow('25006', (rule) => {
  it('a write in a read-only transaction is refused as read-only', async () => {
    const error = await failureOf(() =>
      db.sql.begin('read only', (tx) => tx`update failure_rows set v = v + 1 where id = 1`),
    );
    expect(fieldsOf(error)).toEqual({ code: '25006', routine: 'PreventCommandIfReadOnly' });
    expectRow(error, rule);
  });

  it('a write in a new session of a database whose default_transaction_read_only is on is refused as read-only', async () => {
    const error = await withReadOnlyDatabase(() =>
      failureOf(() => pool(db.url)`update failure_rows set v = v + 1 where id = 1`),
    );
    expect(fieldsOf(error).code).toBe('25006');
    expectRow(error, rule);
  });
});

describeRow('class 25', (rule) => {
  it('a statement after an error inside a transaction fails as in a failed transaction (25P02)', async () => {
    const error = await onReserved(async (session) => {
      await session.unsafe('begin');
      await settled(session.unsafe('select 1 / 0'));
      return failureOf(() => session.unsafe('select 1'));
    });
    expect(fieldsOf(error).code).toBe('25P02');
    expectRow(error, rule);
  });

  it('a transaction ended by idle_in_transaction_session_timeout (25P03) fails with a lost connection, the same unavailability', async () => {
    // The server sends 25P03 while the session waits for the client, that is with no query in flight,
    // and postgres.js drops an error that belongs to no query: the next statement meets the closed
    // connection, as CONNECTION_CLOSED when the client saw the close first, or ECONNRESET when its write
    // reached the closed socket first (both seen here). Either is classified by the errno row with the code
    // and policy of this one.
    const sql = createDatabase(db.url, {
      max: 1,
      applicationName: 'els-idle-in-transaction',
      idleInTransactionSessionTimeoutMs: 100,
    });
    pools.push(sql);
    const session = await sql.reserve();
    try {
      const pid = await backendPid(session);
      await session.unsafe('begin');
      await backendState(pid, 'gone');
      const error = await failureOf(() => session`select 1`);
      expect(['CONNECTION_CLOSED', 'ECONNRESET']).toContain(fieldsOf(error).code);
      expect(failureRule(error)).toBe(rowOf('errnos'));
      expect(classification(error)).toEqual(expected(rule));
    } finally {
      session.release();
    }
  });
});

/** Makes the server itself send an error with this SQLSTATE, raised from PL/pgSQL. */
const raiseFromServer = (sqlState: string) =>
  failureOf(() =>
    db.sql.unsafe(`do $$ begin raise exception 'raised by the test' using errcode = '${sqlState}'; end $$`),
  );

/** The failure of COMMIT after `statements` succeeded in one transaction. */
const failureAtCommit = (statements: string[]) =>
  onReserved(async (session) => {
    await session.unsafe('begin');
    for (const statement of statements) await session.unsafe(statement);
    return failureOf(() => session.unsafe('commit'));
  });

describeRow('40002', (rule) => {
  // PostgreSQL raises 40002 nowhere: a deferred constraint violated at COMMIT reports its own SQLSTATE
  // (23505, 23503, 23P01), refused by the row "class 23" with the same code and policy as this one.
  it('a deferred unique constraint violated at COMMIT is reported as 23505 and refused permanently', async () => {
    const error = await failureAtCommit([
      'create temp table deferred_unique (k int unique deferrable initially deferred) on commit drop',
      'insert into deferred_unique values (1), (1)',
    ]);
    expect(fieldsOf(error)).toEqual({ code: '23505', routine: '_bt_check_unique' });
    expect(failureRule(error)).toBe(rowOf('class 23'));
    expect(classification(error)).toEqual(expected(rule));
  });

  it('a deferred foreign key violated at COMMIT is reported as 23503 and refused permanently', async () => {
    const error = await failureAtCommit([
      'create temp table deferred_parents (id int primary key) on commit drop',
      `create temp table deferred_children (
         parent_id int references deferred_parents deferrable initially deferred) on commit drop`,
      'insert into deferred_children values (42)',
    ]);
    expect(fieldsOf(error)).toEqual({ code: '23503', routine: 'ri_ReportViolation' });
    expect(failureRule(error)).toBe(rowOf('class 23'));
    expect(classification(error)).toEqual(expected(rule));
  });

  it('a 40002 sent by the server (raised from PL/pgSQL) is refused permanently', async () => {
    const error = await raiseFromServer('40002');
    expect(fieldsOf(error)).toEqual({ code: '40002', routine: 'exec_stmt_raise' });
    expectRow(error, rule);
  });
});

describeRow('class 40', (rule) => {
  it('the second of two serializable transactions with a write skew fails to commit (40001)', async () => {
    const error = await onReserved((first) =>
      onReserved(async (second) => {
        for (const session of [first, second]) {
          await session.unsafe('begin isolation level serializable');
          await session`select sum(v) from failure_rows`;
        }
        await first`update failure_rows set v = v + 1 where id = 1`;
        await second`update failure_rows set v = v + 1 where id = 2`;
        await first.unsafe('commit');
        return failureOf(() => second.unsafe('commit'));
      }),
    );
    expect(fieldsOf(error)).toEqual({ code: '40001', routine: 'PreCommit_CheckForSerializationFailure' });
    expectRow(error, rule);
  });

  it('one of two transactions locking two rows in opposite orders is chosen as the deadlock victim (40P01)', async () => {
    const outcomes = await onReserved((first) =>
      onReserved(async (second) => {
        const firstPid = await backendPid(first);
        for (const [session, id] of [
          [first, 1],
          [second, 2],
        ] as const) {
          await session.unsafe('begin');
          await session`set local deadlock_timeout = '50ms'`;
          await session`update failure_rows set v = v + 1 where id = ${id}`;
        }
        const firstWaits = settled(first`update failure_rows set v = v + 1 where id = 2`);
        await backendState(firstPid, 'waiting on a lock');
        const secondWaits = settled(second`update failure_rows set v = v + 1 where id = 1`);
        return Promise.all([firstWaits, secondWaits]);
      }),
    );
    const errors = outcomes.filter((outcome) => outcome !== undefined);
    expect(errors).toHaveLength(1);
    expect(fieldsOf(errors[0])).toEqual({ code: '40P01', routine: 'DeadLockReport' });
    expectRow(errors[0], rule);
  });
});

describeRow('class 53', (rule) => {
  // 53300 for max_connections, 53100 disk full and 53200 out of memory would hit the whole shared server.
  it('a second session of a role limited to one connection is refused (53300)', async () => {
    await db.sql.unsafe(`create role ${ROLE} login connection limit 1`);
    try {
      const url = new URL(db.url);
      url.username = ROLE;
      const holder = pool(url.toString());
      await holder`select 1`;
      const error = await failureOf(() => pool(url.toString())`select 1`);
      expect(fieldsOf(error)).toEqual({ code: '53300', routine: 'InitializeSessionUserId' });
      expectRow(error, rule);
      await holder.end();
    } finally {
      await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where usename = ${ROLE}`;
      await db.sql.unsafe(`drop role ${ROLE}`);
    }
  });
});

describeRow('54000 raised by PreCommit_Notify', (rule) => {
  // Not producible here: PreCommit_Notify raises 54000 "too many notifications in the NOTIFY queue" at
  // COMMIT when the queue is full (src/backend/commands/async.c, PreCommit_Notify, asyncQueueIsFull();
  // https://github.com/postgres/postgres/blob/REL_15_STABLE/src/backend/commands/async.c), and on
  // PostgreSQL 15 the queue holds up to 8 GB (max_notify_queue_pages arrives in 17), too much to fill on a
  // shared server. What can be shown is that the routine reaches the classification: PostgreSQL names the
  // function that raised an error, as it does for a payload too long (Async_Notify, 22023).
  it('a NOTIFY payload too long arrives with the routine that raised it and is not taken for a full queue', async () => {
    const error = await failureOf(() => db.sql`select pg_notify('els_failure_classes', repeat('x', 9000))`);
    expect(fieldsOf(error)).toEqual({ code: '22023', routine: 'Async_Notify' });
    expect(failureRule(error)).not.toBe(rule);
    expectRow(error, rowOf('class 22'));
  });

  it('a 54000 sent by the server from another routine (PL/pgSQL) is not taken for a full NOTIFY queue', async () => {
    const error = await raiseFromServer('54000');
    expect(fieldsOf(error)).toEqual({ code: '54000', routine: 'exec_stmt_raise' });
    expectRow(error, rowOf('class 54'));
    expect(classification({ ...fieldsOf(error), routine: 'PreCommit_Notify' })).toEqual(expected(rule));
  });
});

describeRow('class 54', (rule) => {
  /** Inserts `bytes` of incompressible text into a btree-indexed column. */
  const insertIndexed = (bytes: number) =>
    failureOf(() =>
      db.sql.begin(async (tx) => {
        await tx`create temp table indexed_texts (t text) on commit drop`;
        await tx`create index on indexed_texts (t)`;
        await tx`insert into indexed_texts values (${randomBytes(bytes).toString('base64').slice(0, bytes)})`;
      }),
    );

  it('a 5 kB text in a btree index exceeds the btree row limit (54000, _bt_check_third_page)', async () => {
    const error = await insertIndexed(5_000);
    expect(fieldsOf(error)).toEqual({ code: '54000', routine: '_bt_check_third_page' });
    expectRow(error, rule);
  });

  it('a 10 kB text in a btree index exceeds the index tuple limit (54000, index_form_tuple)', async () => {
    const error = await insertIndexed(10_000);
    expect(fieldsOf(error).code).toBe('54000');
    // index_form_tuple_context on PostgreSQL 15 and later, index_form_tuple before.
    expect(fieldsOf(error).routine).toMatch(/^index_form_tuple(_context)?$/);
    expectRow(error, rule);
  });
});

describeRow('55P03', (rule) => {
  it('a row lock not granted within lock_timeout fails (55P03)', async () => {
    const error = await onReserved((holder) =>
      onReserved(async (waiter) => {
        await holder.unsafe('begin');
        await holder`select 1 from failure_rows where id = 1 for update`;
        await waiter.unsafe('begin');
        await waiter`set local lock_timeout = '100ms'`;
        return failureOf(() => waiter`select 1 from failure_rows where id = 1 for update`);
      }),
    );
    expect(fieldsOf(error)).toEqual({ code: '55P03', routine: 'ProcessInterrupts' });
    expectRow(error, rule);
  });
});

describeRow('class 57', (rule) => {
  // 57P02 (crash shutdown) and 57P03 (starting up) need the shared server restarted; 57P04 (database
  // dropped) is raised only on a standby that replays a DROP DATABASE: on a primary, DROP DATABASE ...
  // WITH (FORCE) terminates sessions (57P01) and a new session of a dropped database gets 3D000 (below).
  it('a statement running past statement_timeout is cancelled (57014)', async () => {
    const error = await failureOf(() =>
      db.sql.begin(async (tx) => {
        await tx`set local statement_timeout = '100ms'`;
        await tx`select pg_sleep(30)`;
      }),
    );
    expect(fieldsOf(error)).toEqual({ code: '57014', routine: 'ProcessInterrupts' });
    expectRow(error, rule);
  });

  it('a session ended by pg_terminate_backend during a statement is unavailability (57P01 or the lost connection)', async () => {
    // The server sends FATAL 57P01 and closes the socket; postgres.js 3.4 keeps an error of a query in flight
    // until ReadyForQuery, which never comes, and rejects with CONNECTION_CLOSED when the socket closes. Either
    // way it is unavailability. A pool of its own: the terminated connection is not handed to other tests.
    const session = await pool(db.url).reserve();
    const pid = await backendPid(session);
    const running = settled(session`select pg_sleep(30)`);
    await backendState(pid, 'active');
    await db.sql`select pg_terminate_backend(${pid})`;
    const error = await running;
    session.release();
    expect(['57P01', 'CONNECTION_CLOSED', 'ECONNRESET']).toContain(fieldsOf(error).code);
    expect([rule, rowOf('errnos')]).toContain(failureRule(error));
    expect(classification(error)).toEqual(expected(rule));
  });
});

describeRow('class 58', (rule) => {
  // Not producible: class 58 reports I/O errors of the server's own files (58030), and damaging them
  // would hit every database of the shared server. The server sends the SQLSTATE from PL/pgSQL instead.
  it('a 58030 sent by the server (raised from PL/pgSQL) is unavailability', async () => {
    const error = await raiseFromServer('58030');
    expect(fieldsOf(error)).toEqual({ code: '58030', routine: 'exec_stmt_raise' });
    expectRow(error, rule);
  });
});

describeRow('class 22', (rule) => {
  it('a text with a NUL character is refused as data (22021)', async () => {
    const error = await failureOf(() => db.sql`select ${'a\u0000b'}::text`);
    expect(fieldsOf(error).code).toBe('22021');
    expectRow(error, rule);
  });

  it('a number out of range for its column type is refused as data (22003)', async () => {
    const error = await failureOf(
      () => db.sql`update failure_rows set v = ${'99999999999'}::bigint where id = 1`,
    );
    expect(fieldsOf(error).code).toBe('22003');
    expectRow(error, rule);
  });
});

describeRow('class 23', (rule) => {
  it('a row referencing a missing parent violates its foreign key (23503)', async () => {
    const error = await failureOf(() => db.sql`insert into failure_children values (42)`);
    expect(fieldsOf(error)).toEqual({ code: '23503', routine: 'ri_ReportViolation' });
    expectRow(error, rule);
  });

  it('a second row with the same primary key violates its unique index (23505)', async () => {
    const error = await failureOf(() => db.sql`insert into failure_rows values (1, 0)`);
    expect(fieldsOf(error)).toEqual({ code: '23505', routine: '_bt_check_unique' });
    expectRow(error, rule);
  });
});

describeRow('class XX', (rule) => {
  // Not producible safely: class XX reports corruption or a broken invariant inside the server (XX000,
  // XX001 data corrupted), which would take corrupting pages of the shared server. The server sends the
  // SQLSTATE from PL/pgSQL instead.
  it('an XX001 sent by the server (raised from PL/pgSQL) is refused permanently', async () => {
    const error = await raiseFromServer('XX001');
    expect(fieldsOf(error)).toEqual({ code: 'XX001', routine: 'exec_stmt_raise' });
    expectRow(error, rule);
  });
});

describe('a failure outside the table', () => {
  const unexpected = expected(UNEXPECTED_FAILURE);

  it('an exception raised in a DO block (P0001) is unexpected: retried a bounded number of times', async () => {
    const error = await failureOf(() => db.sql.unsafe(`do $$ begin raise exception 'no reason'; end $$`));
    expect(fieldsOf(error)).toEqual({ code: 'P0001', routine: 'exec_stmt_raise' });
    expect(failureRule(error)).toBeUndefined();
    expect(classification(error)).toEqual(unexpected);
  });

  it('a new session of a dropped database (3D000) is unexpected, and the write probe reports the database unavailable', async () => {
    const dropped = await createTestDatabase({ max: 1 });
    await dropped.drop();
    const sql = pool(dropped.url);
    const error = await failureOf(() => sql`select 1`);
    expect(fieldsOf(error)).toEqual({ code: '3D000', routine: 'InitPostgres' });
    expect(classification(error)).toEqual(unexpected);
    // The evidence that keeps such a message from the dead-letter topic (invariant 6).
    const probe = await probeDatabaseWritable(sql, { timeoutMs: 2_000 });
    expect(probe.state).toBe('unavailable');
  });
});

describe('the write probe', () => {
  const TIMEOUT_MS = 500;
  /** The probe's result and how long it took. */
  const timedProbe = async (sql: Sql) => {
    const started = performance.now();
    const result = await probeDatabaseWritable(sql, { timeoutMs: TIMEOUT_MS });
    return { result, elapsedMs: performance.now() - started };
  };

  it('finds a normal database writable', async () => {
    const { result } = await timedProbe(db.sql);
    expect(result).toEqual({ state: 'writable' });
  });

  it('finds a database whose default_transaction_read_only is on read-only', async () => {
    const { result } = await withReadOnlyDatabase(() => timedProbe(pool(db.url)));
    expect(result).toMatchObject({ state: 'read-only', error: { code: ERROR_CODES.databaseReadOnly } });
  });

  it('reports a refused port unavailable within its timeout', async () => {
    const { result, elapsedMs } = await timedProbe(pool(urlAt('127.0.0.1', await closedPort())));
    expect(result).toMatchObject({ state: 'unavailable', error: { code: ERROR_CODES.databaseUnavailable } });
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS);
  });

  it('reports a server that accepts but never answers unavailable within its timeout', async () => {
    const port = await listen(() => undefined);
    const { result, elapsedMs } = await timedProbe(pool(urlAt('127.0.0.1', port), { connectTimeoutS: 30 }));
    expect(result).toMatchObject({ state: 'unavailable', error: { code: ERROR_CODES.databaseUnavailable } });
    expect(result.state !== 'writable' && fieldsOf(result.error.cause).code).toBe('ETIMEDOUT');
    expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 500);
  });
});

describe('the table', () => {
  it('has a test against PostgreSQL in this file for every row', () => {
    expect(FAILURE_RULES.map(keyOf).filter((key) => !rowsWithTests.has(key))).toEqual([]);
  });
});
