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
