import { TOPICS } from '@els/contracts';
import type { BatchExpectation } from '@els/workload';
import { field, textKey, whereOf, type HistoryIndex } from '../history/history-index';

/**
 * Excess records against the database, both ways: every record is a text the database reports as excess,
 * that holds no slot and that the generator sent; every excess row has its record.
 */
export function checkExcessRecords(index: HistoryIndex): string[] {
  const errors: string[] = [];
  const announced = new Set<string>();
  for (const record of index.recordsOf(TOPICS.excessContentProvisioned)) {
    const k = textKey(field(record, 'batch_id'), field(record, 'text_storage_id'));
    announced.add(k);
    if (!index.excessRows.has(k)) {
      errors.push(`${k} (excess record ${whereOf(record)}, but the database reports no excess)`);
    }
    const slots = index.slotsOfText.get(k) ?? [];
    if (slots.length > 0) {
      errors.push(
        `${k} (excess record ${whereOf(record)}, but slot ${slots.map((s) => s.essay_id).join(', ')} holds it)`,
      );
    }
    if (!index.sentTexts.has(k)) errors.push(`${k} (excess record ${whereOf(record)} for a text never sent)`);
  }
  for (const k of index.excessRows) {
    if (!announced.has(k)) errors.push(`${k} (excess in the database but no excess record)`);
  }
  return [...new Set(errors)].sort();
}

/**
 * Excess while a slot is still free would be invariant 2's failure. In an over-full batch a later text may
 * take the slot a false excess left, so the number assigned is checked against the plan too: fewer than the
 * plan's minimum means texts were turned away while slots could have held them.
 */
export function checkFalseExcess(index: HistoryIndex, expectations: readonly BatchExpectation[]): string[] {
  const falseExcess: string[] = [];
  const free = new Map<string, number>();
  const freeOf = (batchId: string) => {
    let count = free.get(batchId);
    if (count === undefined) {
      count = (index.slotsOfBatch.get(batchId) ?? []).filter((slot) => slot.status === 'uploaded').length;
      free.set(batchId, count);
    }
    return count;
  };
  for (const k of index.excessRows) {
    const freeSlots = freeOf(k.slice(0, k.indexOf('/')));
    if (freeSlots > 0) falseExcess.push(`${k} (batch has ${freeSlots} free slots)`);
  }
  for (const expectation of expectations) {
    const assigned = (index.slotsOfBatch.get(expectation.batchId) ?? []).filter(
      (slot) => slot.text_storage_id !== null,
    ).length;
    const { min, max } = expectation.assigned;
    if (assigned < min || assigned > max) {
      falseExcess.push(`${expectation.batchId} (${assigned} texts assigned, the plan allows ${min}–${max})`);
    }
  }
  return falseExcess.sort();
}
