import type { DatabaseSnapshot } from '../history/database-snapshot';
import type { HistoryIndex } from '../history/history-index';

type FailureRow = DatabaseSnapshot['validationFailures'][number];

/**
 * Validation failures against the database: each one sent is recorded exactly once; in a registered batch
 * it resolved exactly one slot (`slot_failed`, naming a slot of the batch marked failed, which no other
 * failure names) when one was free, or none (`no_free_slot`) when the batch was full; in a batch never
 * registered it waits as `pending`. Every failed slot is the work of exactly one recorded failure.
 */
export function checkValidationFailures(
  index: HistoryIndex,
  rows: DatabaseSnapshot['validationFailures'],
): string[] {
  const errors: string[] = [];
  const rowsOf = new Map<string, FailureRow[]>();
  for (const row of rows) {
    const k = `${row.batch_id}/${row.file_upload_id}`;
    rowsOf.set(k, [...(rowsOf.get(k) ?? []), row]);
  }
  const sent = new Set(
    index.delivered
      .filter((line) => line.kind === 'validation-failure' && line.fileUploadId !== null)
      .map((line) => `${line.batchId}/${line.fileUploadId}`),
  );
  for (const k of sent) {
    const count = rowsOf.get(k)?.length ?? 0;
    if (count !== 1) errors.push(`${k} (validation failure recorded ${count} times)`);
  }
  const resolvedBy = new Map<string, string[]>();
  for (const [k, recorded] of rowsOf) {
    if (!sent.has(k)) errors.push(`${k} (validation failure recorded but never sent)`);
    for (const row of recorded) {
      const registered = index.batchRow.has(row.batch_id);
      const slots = index.slotsOfBatch.get(row.batch_id) ?? [];
      if (!registered) {
        if (row.outcome !== 'pending' || row.essay_id !== null) {
          errors.push(`${k} (${row.outcome} in a batch never registered, expected pending)`);
        }
      } else if (row.outcome === 'slot_failed') {
        const slot = row.essay_id === null ? undefined : index.slotByEssay.get(row.essay_id);
        if (!slot || slot.batch_id !== row.batch_id || slot.status !== 'validation_failed') {
          errors.push(
            `${k} (resolved slot ${row.essay_id ?? 'none'}, which is ${slot ? `${slot.status} in ${slot.batch_id}` : 'no slot'})`,
          );
        }
        if (row.essay_id !== null) resolvedBy.set(row.essay_id, [...(resolvedBy.get(row.essay_id) ?? []), k]);
      } else if (row.outcome === 'no_free_slot') {
        const free = slots.filter((slot) => slot.status === 'uploaded').length;
        if (free > 0) errors.push(`${k} (no_free_slot, but the batch has ${free} free slots)`);
        if (row.essay_id !== null) errors.push(`${k} (no_free_slot, yet names slot ${row.essay_id})`);
      } else {
        errors.push(`${k} (${row.outcome} after its batch registered)`);
      }
    }
  }
  for (const slots of index.slotsOfBatch.values()) {
    for (const slot of slots) {
      if (slot.status !== 'validation_failed') continue;
      const by = resolvedBy.get(slot.essay_id) ?? [];
      if (by.length !== 1) {
        errors.push(
          `${slot.batch_id}/${slot.essay_id} (failed slot resolved by ${by.length} recorded failures${by.length > 0 ? `: ${by.join(', ')}` : ''})`,
        );
      }
    }
  }
  return [...new Set(errors)].sort();
}
