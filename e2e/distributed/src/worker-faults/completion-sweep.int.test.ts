import { waitFor } from '@els/test-kit';
import { randomUUID } from 'node:crypto';
import { completionEventIds, registeredBatch } from './batch-outcome';
import { useWorkerFixture } from './worker-fixture';

const SLOTS = 3;

describe('a running worker completes a full batch nobody announced (invariant 4)', () => {
  const openFixture = useWorkerFixture('completion-sweep', {
    env: { ELS_COMPLETION_SWEEP_INTERVAL_MS: '500' },
  });

  it('announces, once, a batch whose last resolver committed its slots and stopped before it looked', async () => {
    const fixture = openFixture();
    const batch = await registeredBatch(fixture, 'sweep', SLOTS);
    // What a replica killed between its commit and its completion check leaves: every slot resolved, no
    // completion, and no input left to redeliver.
    await fixture.db.sql`
      update essay_states e
         set status = 'ready_for_processing', text_storage_id = t.text_storage_id,
             file_upload_id = 'upload-' || t.text_storage_id, original_file_name = t.text_storage_id || '.docx',
             content_correlation_id = ${randomUUID()}::uuid, updated_at = now()
        from unnest(${batch.essayIds}::text[], ${batch.texts}::text[]) as t(essay_id, text_storage_id)
       where e.essay_id = t.essay_id`;
    await waitFor('the completion event', () => completionEventIds(fixture, batch.batchId).size > 0, {
      timeoutMs: 30_000,
    });
    // Later passes find the latch set: still one completion a few passes on.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(completionEventIds(fixture, batch.batchId).size).toBe(1);
  });
});
