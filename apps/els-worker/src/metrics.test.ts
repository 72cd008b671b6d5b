import { RETRY_REASONS, createMetrics } from './metrics';

describe('worker metrics', () => {
  it('exports els_retries_total at 0 for every retry reason before any retry, so the panel has data', async () => {
    const { body } = await createMetrics().render();
    for (const reason of RETRY_REASONS) {
      expect(body).toContain(`els_retries_total{reason="${reason}"} 0`);
    }
    expect(RETRY_REASONS).toContain('ELS_ERR_DATABASE_UNAVAILABLE');
  });
});

describe('completions', () => {
  it('counts a completion on whichever outcome reports it: an assignment, a duplicate, an excess report, the sweep', async () => {
    const metrics = createMetrics();
    metrics.observeProcessor({
      type: 'content-handled',
      durationMs: 5,
      outcomes: [
        { kind: 'assigned', batchId: 'a', essayId: 'a-1', textStorageId: 't1', completed: true },
        { kind: 'assigned', batchId: 'b', essayId: 'b-1', textStorageId: 't2', completed: false },
        { kind: 'duplicate', batchId: 'c', textStorageId: 't3', essayId: 'c-1', completed: true },
        { kind: 'excess', batchId: 'd', textStorageId: 't4', completed: true },
        { kind: 'excess', batchId: 'd', textStorageId: 't5' },
        { kind: 'pending', batchId: 'e', textStorageId: 't6' },
      ],
    });
    metrics.observeProcessor({
      type: 'validation-failure-handled',
      durationMs: 5,
      outcome: { kind: 'no-free-slot', batchId: 'f', completed: true },
    });
    metrics.observeProcessor({
      type: 'registration-handled',
      durationMs: 5,
      outcome: { kind: 'duplicate', batchId: 'g', completed: true },
    });
    metrics.observeSweptCompletions(2);
    const { body } = await metrics.render();
    expect(body).toMatch(/^els_batch_completions_total 7$/m);
    expect(body).toMatch(/^els_excess_reports_total 2$/m);
  });
});
