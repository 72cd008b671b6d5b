import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TEST_SERVER_URL } from '@els/test-kit';
import postgres from 'postgres';
import { createDatabase, type Sql } from './database';
import { defaultMigrationsDir, migrate } from './migrator';

/**
 * Test databases for integration tests against the local stack (`npm run stack -- up`), migrated with this
 * library's migrator. Not part of the production entry; the generic test helpers are in `@els/test-kit`.
 */

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
