import type { Tx } from '../database';
import { withSavepoint } from '../database';
import {
  essayStatesClaimFree,
  essayStatesProbeText,
  type ClaimedSlot,
  type SlotFill,
} from '../sql/essay-states';

export type FillResult =
  | { kind: 'filled'; slot: ClaimedSlot }
  | { kind: 'already-assigned'; essayId: string }
  | { kind: 'already-excess' }
  | { kind: 'exhausted' };

/**
 * Fills one slot of a registered batch with one text (or failure), waiting for slots that other
 * transactions hold instead of giving up (invariant 2):
 *  1. probe in one snapshot: holder of this text? excess already? free slots (locked ones included)?
 *  2. no free slot at all → exhausted (the caller writes excess / no-free-slot);
 *  3. claim with SKIP LOCKED; if every free slot is locked by others, claim again blocking, which waits for
 *     their transactions; if they took the slots, the blocking claim finds nothing and we probe again.
 * A unique violation means a concurrent transaction bound the same text and committed: probe again, and
 * the probe then names that holder.
 */
export async function fillOneSlot(tx: Tx, batchId: string, fill: SlotFill, now: Date): Promise<FillResult> {
  for (;;) {
    const probe = await essayStatesProbeText(tx, batchId, fill.textStorageId);
    if (probe.essayId) return { kind: 'already-assigned', essayId: probe.essayId };
    if (probe.excessReported) return { kind: 'already-excess' };
    if (probe.freeSlots === 0) return { kind: 'exhausted' };
    for (const skipLocked of [true, false]) {
      const claimed = await withSavepoint<ClaimedSlot[] | 'collided'>(
        tx,
        (sp) => essayStatesClaimFree(sp, batchId, [fill], now, { skipLocked }),
        () => 'collided' as const,
      );
      if (claimed === 'collided') break;
      const slot = claimed[0];
      if (slot) return { kind: 'filled', slot };
    }
  }
}
