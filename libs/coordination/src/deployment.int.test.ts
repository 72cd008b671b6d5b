import postgres from 'postgres';
import { migrate } from './migrator';
import { deploymentId } from './sql/deployment';
import { TEST_SERVER_URL } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from './testing';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('deployment id', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => Promise.all(databases.map((db) => db.drop())));
  const open = async () => {
    const db = await createTestDatabase({ max: 2 });
    databases.push(db);
    return db;
  };

  it('is a stable UUID for one database', async () => {
    const db = await open();
    const first = await deploymentId(db.sql);
    expect(first).toMatch(UUID);
    expect(await deploymentId(db.sql)).toBe(first);
  });

  it('differs between two databases cloned from the same migrated template', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    expect(await deploymentId(a.sql)).not.toBe(await deploymentId(b.sql));
  });

  it('changes when the database is dropped, created again under the same name and migrated', async () => {
    const db = await open();
    const before = await deploymentId(db.sql);
    await db.sql.end({ timeout: 5 });
    const admin = postgres(`${TEST_SERVER_URL}/postgres`, { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`drop database "${db.name}" with (force)`);
      await admin.unsafe(`create database "${db.name}"`);
    } finally {
      await admin.end();
    }
    const fresh = db.connect(1);
    await migrate(fresh);
    expect(await deploymentId(fresh)).not.toBe(before);
  });

  it('changes when the documented rotation statement runs after a restore', async () => {
    const db = await open();
    const before = await deploymentId(db.sql);
    await db.sql.unsafe('update els_deployment set deployment_id = gen_random_uuid();');
    expect(await deploymentId(db.sql)).not.toBe(before);
  });
});
