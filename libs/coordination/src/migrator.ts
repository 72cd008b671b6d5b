import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Sql } from './database';
import { ERROR_CODES } from './error-catalogue';
import { ElsError } from './errors';

// Any constant works; it only has to differ from the two-key batch locks (those use the (int, int) form).
const MIGRATION_LOCK_KEY = 4_242_001;

interface Migration {
  tag: string;
  hash: string;
  statements: string[];
}

/** The migrations folder next to the sources (libs/coordination/drizzle) or next to a bundle (dist/…/drizzle). */
export function defaultMigrationsDir(): string {
  const candidates = [path.resolve(__dirname, '..', 'drizzle'), path.resolve(__dirname, 'drizzle')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'meta', '_journal.json')));
  if (!found) {
    throw new ElsError(
      ERROR_CODES.migrationsMissing,
      `no migrations folder in ${candidates.join(' or ')}`,
      false,
    );
  }
  return found;
}

function loadMigrations(dir: string): Migration[] {
  const journal = JSON.parse(fs.readFileSync(path.join(dir, 'meta', '_journal.json'), 'utf8')) as {
    entries: Array<{ idx: number; tag: string }>;
  };
  return [...journal.entries]
    .sort((a, b) => a.idx - b.idx)
    .map(({ tag }) => {
      const text = fs.readFileSync(path.join(dir, `${tag}.sql`), 'utf8');
      return {
        tag,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: text
          .split('--> statement-breakpoint')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      };
    });
}

/**
 * Applies every migration not yet applied, in order, in one transaction under an advisory lock, so any
 * number of replicas may run `migrate` at once: the first applies, the others wait and find nothing to do.
 * An applied migration whose file changed is an error (migrations are immutable).
 */
export async function migrate(
  sql: Sql,
  migrationsDir = defaultMigrationsDir(),
): Promise<{ applied: string[] }> {
  const migrations = loadMigrations(migrationsDir);
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      create table if not exists els_migrations (
        tag text primary key,
        hash text not null,
        applied_at timestamptz not null default now()
      )`;
    const done = new Map(
      (await tx<{ tag: string; hash: string }[]>`select tag, hash from els_migrations`).map((r) => [
        r.tag,
        r.hash,
      ]),
    );
    const applied: string[] = [];
    for (const migration of migrations) {
      const appliedHash = done.get(migration.tag);
      if (appliedHash !== undefined) {
        if (appliedHash !== migration.hash) {
          throw new ElsError(
            ERROR_CODES.migrationModified,
            `applied migration ${migration.tag} was modified`,
            false,
          );
        }
        continue;
      }
      for (const statement of migration.statements) await tx.unsafe(statement);
      await tx`insert into els_migrations (tag, hash) values (${migration.tag}, ${migration.hash})`;
      applied.push(migration.tag);
    }
    return { applied };
  });
}

export interface SchemaStatus {
  current: boolean;
  applied: number;
  expected: number;
}

/** Whether the database holds exactly the migrations this build expects (readiness). */
export async function schemaStatus(sql: Sql, migrationsDir = defaultMigrationsDir()): Promise<SchemaStatus> {
  const expected = loadMigrations(migrationsDir);
  const [exists] = await sql<
    { present: boolean }[]
  >`select to_regclass('els_migrations') is not null as present`;
  if (!exists?.present) return { current: false, applied: 0, expected: expected.length };
  const rows = await sql<{ tag: string }[]>`select tag from els_migrations`;
  const applied = new Set(rows.map((r) => r.tag));
  const current = expected.every((m) => applied.has(m.tag));
  return { current, applied: rows.length, expected: expected.length };
}
