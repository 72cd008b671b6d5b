import { TOPICS } from '@els/contracts';
import { field, textKey, whereOf, type HistoryIndex } from '../history/history-index';

/**
 * Slot-assigned records against the database, both ways: every record names a (batch, essay, text) that is
 * a slot row of the database holding that text, and a text the generator sent; every slot holding a text
 * has a record naming exactly that slot and text.
 */
export function checkAssignments(index: HistoryIndex): string[] {
  const errors: string[] = [];
  const announcedSlots = new Set<string>();
  for (const record of index.recordsOf(TOPICS.essaySlotAssigned)) {
    const batchId = field(record, 'batch_id');
    const essayId = field(record, 'essay_id');
    const text = field(record, 'text_storage_id');
    const named = `${batchId}/${essayId}/${text}`;
    const slot = index.slotByEssay.get(essayId);
    if (!slot || slot.batch_id !== batchId) {
      errors.push(`${named} (slot-assigned record ${whereOf(record)} names a slot the batch does not have)`);
    } else if (slot.text_storage_id !== text) {
      errors.push(
        `${named} (slot-assigned record ${whereOf(record)}, but the database slot holds ${slot.text_storage_id ?? 'no text'})`,
      );
    } else {
      announcedSlots.add(named);
    }
    if (!index.sentTexts.has(textKey(batchId, text))) {
      errors.push(`${named} (slot-assigned record ${whereOf(record)} for a text never sent)`);
    }
  }
  for (const slots of index.slotsOfBatch.values()) {
    for (const slot of slots) {
      if (slot.text_storage_id === null) continue;
      const named = `${slot.batch_id}/${slot.essay_id}/${slot.text_storage_id}`;
      if (!announcedSlots.has(named))
        errors.push(`${named} (slot holds the text but no record announces it)`);
    }
  }
  return [...new Set(errors)].sort();
}
