import { TOPICS } from '@els/contracts';
import { makeValidationFailure, toWire } from '@els/contracts/testing';
import { waitFor } from '@els/test-kit';
import { randomUUID } from 'node:crypto';
import { completionEventIds, registeredBatch, sendTexts, waitAssigned } from './batch-outcome';
import { useWorkerFixture } from './worker-fixture';

const SLOTS = 3;

/** Invariant 4 against a running worker: each way a batch gets its one completion. */
describe('the handler that resolves a batch’s last slot completes it', () => {
  // The sweep's first pass runs at start, before the batch exists; the next is ten minutes away.
  const openFixture = useWorkerFixture('completion-last', {
    env: { ELS_COMPLETION_SWEEP_INTERVAL_MS: '600000' },
  });

  it('a validation failure that resolves the last slot, after every text is assigned, completes the batch', async () => {
    const fixture = openFixture();
    const batch = await registeredBatch(fixture, 'failure-last', SLOTS);
    await sendTexts(fixture, batch, batch.texts.slice(0, SLOTS - 1));
    await waitAssigned(fixture, batch.batchId, SLOTS - 1);
    expect(completionEventIds(fixture, batch.batchId).size).toBe(0);
    const failure = makeValidationFailure({ batchId: batch.batchId });
    await fixture.send(TOPICS.essayValidationFailed, [{ key: randomUUID(), value: toWire(failure) }]);
    await waitFor('the completion event', () => completionEventIds(fixture, batch.batchId).size > 0, {
      timeoutMs: 30_000,
    });
  });
});

describe('a running worker completes a full batch nobody announced', () => {
  const openFixture = useWorkerFixture('completion-sweep', {
    env: { ELS_COMPLETION_SWEEP_INTERVAL_MS: '500' },
  });

  it('announces a batch whose last resolver committed its slots and stopped before it looked', async () => {
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
    // Through the latch: a second pass finds it set (that it announces the batch once, racing other
    // sweeps and the handlers, is completion.int.test.ts's to show).
    const [row] = await fixture.db.sql<{ latched: boolean }[]>`
      select completed_at is not null as latched from batches where batch_id = ${batch.batchId}`;
    expect(row?.latched).toBe(true);
  });
});
