import postgres from 'postgres';
import { WORKER_SESSION_PREFIX } from '@els/harness';

/**
 * The `postgres-read-only` fault: the run's database turns read-only, as a client sees a failover onto a
 * standby or a managed server whose disk filled up (every write fails with SQLSTATE 25006).
 *
 * Per database (`ALTER DATABASE … SET default_transaction_read_only`), never server-wide (`ALTER SYSTEM`):
 * other tests share this PostgreSQL server. The setting is a session default, read when a session starts,
 * so the replicas' sessions on the database are ended (`pg_terminate_backend`) each time it changes: they
 * reconnect into read-only sessions, and once it is reset into writable ones (a read-only session stays
 * read-only until it reconnects). Only the replicas' sessions (`application_name` `els-worker-…`) are
 * ended: the suite's own pool on the run's database only reads, and ending it would fail the checker's
 * queries instead of testing the worker.
 *
 * The statements run on a session of its own to the server's maintenance database, never the run's: a
 * session on the run's database started during the fault would itself be read-only and could not reset it
 * (ALTER DATABASE is refused in a read-only transaction); the startup parameter makes sure of it.
 */

export interface DatabaseFaults {
  /** The run's database. */
  readonly database: string;
  /**
   * Why this fault cannot act on the server (unreachable, not allowed to alter the database or end other
   * sessions); undefined when it can.
   */
  unavailable(): Promise<string | undefined>;
  /** Sets (or resets) the database read-only and ends the replicas' sessions; returns how many it ended. */
  setReadOnly(readOnly: boolean): Promise<number>;
  /** Whether the database is set read-only now (the catalogue's per-database settings say so). */
  isReadOnly(): Promise<boolean>;
  /** Undoes a read-only setting left behind by an interrupted fault; returns whether there was one. */
  heal(): Promise<boolean>;
  close(): Promise<void>;
}

export function createDatabaseFaults(options: {
  /** The server without a database, e.g. postgres://postgres@127.0.0.1:5432 (ELS_TEST_DATABASE_SERVER_URL). */
  serverUrl: string;
  database: string;
}): DatabaseFaults {
  const { database } = options;
  const admin = postgres(`${options.serverUrl.replace(/\/+$/, '')}/postgres`, {
    max: 1,
    onnotice: () => undefined,
    connect_timeout: 10,
    connection: { application_name: 'els-e2e-nemesis', default_transaction_read_only: false },
  });

  const endWorkerSessions = async (): Promise<number> => {
    const [row] = await admin<Array<{ ended: number }>>`
      select count(*) filter (where pg_terminate_backend(pid))::int as ended
      from pg_stat_activity
      where datname = ${database}
        and application_name like ${`${WORKER_SESSION_PREFIX}%`}
        and pid <> pg_backend_pid()`;
    return row?.ended ?? 0;
  };

  const faults: DatabaseFaults = {
    database,
    async unavailable() {
      try {
        const [row] = await admin<Array<{ allowed: boolean; exists: boolean }>>`
          select
            exists (select 1 from pg_database where datname = ${database}) as exists,
            r.rolsuper
              or (pg_has_role(r.oid, 'pg_signal_backend', 'member')
                  and exists (select 1 from pg_database d where d.datname = ${database} and d.datdba = r.oid))
              as allowed
          from pg_roles r
          where r.rolname = current_user`;
        if (!row?.exists) return `database ${database} not found on the server`;
        if (!row.allowed) return "the suite's role may not alter the database or end the replicas' sessions";
        return undefined;
      } catch (error) {
        return `the database server is not reachable from the suite (${error instanceof Error ? error.message : String(error)})`;
      }
    },
    async setReadOnly(readOnly) {
      if (readOnly) await admin`alter database ${admin(database)} set default_transaction_read_only = on`;
      else await admin`alter database ${admin(database)} reset default_transaction_read_only`;
      return endWorkerSessions();
    },
    async isReadOnly() {
      const [row] = await admin<Array<{ set: boolean }>>`
        select exists (
          select 1
          from pg_db_role_setting s
          join pg_database d on d.oid = s.setdatabase
          cross join unnest(s.setconfig) as setting
          where d.datname = ${database} and s.setrole = 0
            and setting like 'default_transaction_read_only=%'
        ) as set`;
      return row?.set ?? false;
    },
    async heal() {
      if (!(await faults.isReadOnly())) return false;
      await faults.setReadOnly(false);
      return true;
    },
    async close() {
      await admin.end({ timeout: 5 });
    },
  };
  return faults;
}
