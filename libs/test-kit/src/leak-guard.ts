import postgres from 'postgres';
import { TEST_SERVER_URL } from './stack-endpoints';

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
    /** `db` is the test database (by name) whose open connections count as leaks. */
    async assertNoLeaks(db?: { name: string }): Promise<void> {
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
