import { createRetryTracker } from '../consumer/retry-tracker';
import type { RetrySubject } from '../consumer/retry-tracker';
import { checkReadiness, type ReadinessProbes } from './readiness';

const subject: RetrySubject = {
  step: 'content',
  topic: 'huleedu.file.essay.content.provisioned.v1',
  partition: 3,
  offset: '41',
  eventId: '0b6f3f5e-7d7c-4a53-9a8e-2f0c1f0e5d11',
  correlationId: '6a1c2f43-1d2e-4f7a-8b9c-0d1e2f3a4b5c',
  messages: 1,
};

function probes(overrides: Partial<ReadinessProbes> = {}): ReadinessProbes {
  return {
    instanceId: 'replica-1',
    database: {
      ping: async () => ({ readOnly: false }),
      schemaStatus: async () => ({ current: true, applied: 3, expected: 3 }),
    },
    consumerJoined: () => true,
    redisDegraded: () => false,
    ...overrides,
  };
}

describe('readiness with messages in retry', () => {
  it('names each message waiting in a retry and stays ready while none is older than the threshold', async () => {
    let now = 1_000_000;
    const tracker = createRetryTracker(() => now);
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_INTERNAL', subject, attempt: 1 });
    now += 400;
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_INTERNAL', subject, attempt: 2 });
    const report = await checkReadiness(probes({ retrying: tracker.list, maxRetryMs: 500 }));
    expect(report.ready).toBe(true);
    expect(report.retrying).toEqual({
      ok: true,
      maxRetryMs: 500,
      messages: [
        {
          ...subject,
          code: 'ELS_ERR_INTERNAL',
          attempts: 2,
          since: new Date(1_000_000).toISOString(),
          ageMs: 400,
        },
      ],
    });
  });

  it('turns unready once a message has been retrying for longer than the threshold', async () => {
    let now = 0;
    const tracker = createRetryTracker(() => now);
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_DATABASE_UNAVAILABLE', subject, attempt: 1 });
    now = 60_001;
    const report = await checkReadiness(probes({ retrying: tracker.list, maxRetryMs: 60_000 }));
    expect(report.ready).toBe(false);
    expect(report.retrying.ok).toBe(false);
    expect(report.retrying.messages.map((m) => [m.offset, m.ageMs])).toEqual([['41', 60_001]]);
  });

  it('only reports a long retry when the threshold is 0', async () => {
    let now = 0;
    const tracker = createRetryTracker(() => now);
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_INTERNAL', subject, attempt: 1 });
    now = 86_400_000;
    const report = await checkReadiness(probes({ retrying: tracker.list, maxRetryMs: 0 }));
    expect(report.ready).toBe(true);
    expect(report.retrying.messages).toHaveLength(1);
  });

  it('forgets a message once its retry loop ended, and is ready again', async () => {
    let now = 0;
    const tracker = createRetryTracker(() => now);
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_INTERNAL', subject, attempt: 1 });
    now = 10_000;
    expect((await checkReadiness(probes({ retrying: tracker.list, maxRetryMs: 1000 }))).ready).toBe(false);
    tracker.observe({ type: 'retry-ended', subject });
    const report = await checkReadiness(probes({ retrying: tracker.list, maxRetryMs: 1000 }));
    expect(report.ready).toBe(true);
    expect(report.retrying.messages).toEqual([]);
  });
});

describe('readiness of a read-only database', () => {
  it('is unready while the database refuses writes, says so, and reports each state it saw', async () => {
    let readOnly = true;
    const states: string[] = [];
    const check = () =>
      checkReadiness(
        probes({
          database: {
            ping: async () => ({ readOnly }),
            schemaStatus: async () => ({ current: true, applied: 3, expected: 3 }),
          },
          onDatabaseState: (state) => void states.push(state),
        }),
      );
    const during = await check();
    expect(during.ready).toBe(false);
    expect(during.dependencies.database).toEqual({ ok: false, readOnly: true });
    expect(during.dependencies.schema.ok).toBe(true);
    readOnly = false;
    const after = await check();
    expect(after.ready).toBe(true);
    expect(after.dependencies.database).toEqual({ ok: true, readOnly: false });
    expect(states).toEqual(['read-only', 'writable']);
  });

  it('reports an unreachable database as unavailable', async () => {
    const states: string[] = [];
    const report = await checkReadiness(
      probes({
        database: {
          ping: async () => Promise.reject(new Error('ECONNREFUSED')),
          schemaStatus: async () => ({ current: true, applied: 3, expected: 3 }),
        },
        onDatabaseState: (state) => void states.push(state),
      }),
    );
    expect(report.ready).toBe(false);
    expect(states).toEqual(['unavailable']);
  });
});
