import { createMetrics } from '../metrics';
import { createRetryTracker, type RetrySubject } from './retry-tracker';

const subjectAt = (partition: number, messages: number): RetrySubject => ({
  step: 'content',
  topic: 'huleedu.file.essay.content.provisioned.v1',
  partition,
  offset: '7',
  messages,
});

async function gauge(metrics: ReturnType<typeof createMetrics>, name: string): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value;
}

describe('retry tracker', () => {
  it('keeps the time of the first failure across retries and lists the oldest first', () => {
    let now = 0;
    const tracker = createRetryTracker(() => now);
    const a = subjectAt(0, 1);
    const b = subjectAt(1, 3);
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_INTERNAL', subject: b, attempt: 1 });
    now = 100;
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_DATABASE_UNAVAILABLE', subject: a, attempt: 1 });
    now = 500;
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_DATABASE_UNAVAILABLE', subject: b, attempt: 2 });
    expect(tracker.list().map((m) => [m.partition, m.code, m.attempts, m.ageMs])).toEqual([
      [1, 'ELS_ERR_DATABASE_UNAVAILABLE', 2, 500],
      [0, 'ELS_ERR_DATABASE_UNAVAILABLE', 1, 400],
    ]);
    tracker.observe({ type: 'retry-ended', subject: b });
    expect(tracker.list().map((m) => m.partition)).toEqual([0]);
  });

  it('feeds the messages-in-retry and oldest-retry-age gauges when they are scraped', async () => {
    let now = 0;
    const tracker = createRetryTracker(() => now);
    const metrics = createMetrics();
    metrics.observeRetrying(tracker.list);
    expect(await gauge(metrics, 'els_messages_in_retry')).toBe(0);
    expect(await gauge(metrics, 'els_retry_oldest_age_seconds')).toBe(0);
    const run = subjectAt(2, 4);
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_DATABASE_UNAVAILABLE', subject: run, attempt: 1 });
    tracker.observe({ type: 'retry', reason: 'ELS_ERR_INTERNAL', subject: subjectAt(3, 1), attempt: 1 });
    now = 90_000;
    expect(await gauge(metrics, 'els_messages_in_retry')).toBe(5);
    expect(await gauge(metrics, 'els_retry_oldest_age_seconds')).toBe(90);
    tracker.observe({ type: 'retry-ended', subject: run });
    expect(await gauge(metrics, 'els_messages_in_retry')).toBe(1);
  });
});
