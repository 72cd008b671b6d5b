import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { createDatabase, type Sql } from './database';
import { defaultMigrationsDir, migrate } from './migrator';

/**
 * Test helpers for integration tests against the local stack (`npm run stack -- up`). Not part of the
 * production entry.
 */

export const TEST_SERVER_URL =
  process.env['ELS_TEST_DATABASE_SERVER_URL'] ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_REDIS_URL = process.env['ELS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const TEST_KAFKA_BROKERS = (process.env['ELS_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

function migrationsFingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    hash.update(file).update(fs.readFileSync(path.join(dir, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

async function ensureTemplate(admin: Sql): Promise<string> {
  const template = `els_template_${migrationsFingerprint(defaultMigrationsDir())}`;
  // CREATE DATABASE cannot run inside a transaction: serialise parallel test files with a session lock.
  const session = await admin.reserve();
  try {
    await session`select pg_advisory_lock(4242002)`;
    const [exists] = await session`select 1 from pg_database where datname = ${template}`;
    if (!exists) {
      const building = `${template}_building`;
      await session.unsafe(`drop database if exists "${building}"`);
      await session.unsafe(`create database "${building}"`);
      const db = postgres(`${TEST_SERVER_URL}/${building}`, { max: 1, onnotice: () => undefined });
      try {
        await migrate(db);
      } finally {
        await db.end();
      }
      await session.unsafe(`alter database "${building}" rename to "${template}"`);
    }
  } finally {
    await session`select pg_advisory_unlock(4242002)`.catch(() => undefined);
    session.release();
  }
  return template;
}

export interface TestDatabase {
  name: string;
  url: string;
  sql: Sql;
  /** Opens another pool on the same database (a second "replica"). Closed by drop(). */
  connect(max?: number): Sql;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file: a clone of a template migrated once per schema version. */
export async function createTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  const admin = postgres(`${TEST_SERVER_URL}/postgres`, { max: 1, onnotice: () => undefined });
  const pools: Sql[] = [];
  try {
    const template = await ensureTemplate(admin);
    const name = `els_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    await admin.unsafe(`create database "${name}" template "${template}"`);
    const url = `${TEST_SERVER_URL}/${name}`;
    const connect = (max = options.max ?? 10) => {
      const pool = createDatabase(url, { max, applicationName: 'els-test' });
      pools.push(pool);
      return pool;
    };
    const sql = connect();
    return {
      name,
      url,
      sql,
      connect,
      async drop() {
        await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
        const dropper = postgres(`${TEST_SERVER_URL}/postgres`, { max: 1, onnotice: () => undefined });
        try {
          await dropper.unsafe(`drop database if exists "${name}" with (force)`);
        } finally {
          await dropper.end();
        }
      },
    };
  } finally {
    await admin.end();
  }
}

/** A topic prefix and consumer group no other test uses. */
export function uniqueKafkaNames(label: string): { topicPrefix: string; consumerGroup: string } {
  const id = randomUUID().slice(0, 8);
  return { topicPrefix: `t${id}.${label}.`, consumerGroup: `els-test-${label}-${id}` };
}

/** Waits for a named condition, polling; fails with the name after `timeoutMs` instead of hanging. */
export async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/**
 * Leak guard: records child processes and asserts, at the end of a test file, that none is still running
 * and that no connection to the test database is still open.
 */
export function createLeakGuard() {
  const children = new Set<{
    pid?: number | undefined;
    exitCode: number | null;
    signalCode: NodeJS.Signals | null;
  }>();
  return {
    trackChild<
      C extends { pid?: number | undefined; exitCode: number | null; signalCode: NodeJS.Signals | null },
    >(child: C): C {
      children.add(child);
      return child;
    },
    async assertNoLeaks(db?: TestDatabase): Promise<void> {
      const running = [...children]
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map((c) => c.pid);
      if (running.length > 0) throw new Error(`test leaked running child processes: ${running.join(', ')}`);
      if (db) {
        const probe = postgres(`${TEST_SERVER_URL}/postgres`, { max: 1, onnotice: () => undefined });
        try {
          const rows =
            await probe`select count(*)::int as n from pg_stat_activity where datname = ${db.name}`;
          const open = (rows[0] as { n: number } | undefined)?.n ?? 0;
          if (open > 0) throw new Error(`test leaked ${open} open connection(s) to ${db.name}`);
        } finally {
          await probe.end();
        }
      }
    },
  };
}
