import type { Tx } from '../database';
import { claimInSavepoint } from '../database';
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
  | { kind: 'exhausted' }
  /** Only with `mayWait: false`: every free slot is held by another transaction. */
  | { kind: 'busy' };

export interface FillOptions {
  /**
   * Whether to wait for slots other transactions hold. Only a transaction that holds no slot lock of its
   * own may wait: one that does could be waited for in turn by the transaction it waits for (each holding
   * a slot the other's blocking claim wants, since an uncommitted claim still reads `uploaded` to others),
   * and such a cycle costs PostgreSQL's `deadlock_timeout` (1 s by default) before one of them is rolled
   * back and rerun.
   */
  readonly mayWait: boolean;
}

/**
 * Fills one slot of a registered batch with one text (or failure), waiting for slots that other
 * transactions hold instead of giving up (invariant 2):
 *  1. probe in one snapshot: holder of this text? excess already? free slots (locked ones included)?
 *  2. no free slot at all → exhausted (the caller writes excess / no-free-slot);
 *  3. claim with SKIP LOCKED; if every free slot is locked by others, claim again blocking, which waits for
 *     their transactions; if they took the slots, the blocking claim finds nothing and we probe again.
 *     With `mayWait: false` it returns `busy` there instead of waiting (the caller holds slots: see
 *     FillOptions); the caller retries the text in a transaction that holds none.
 * A unique violation means a concurrent transaction bound the same text and committed: probe again, and
 * the probe then names that holder.
 */
export async function fillOneSlot(
  tx: Tx,
  batchId: string,
  fill: SlotFill,
  now: Date,
  options: FillOptions,
): Promise<FillResult> {
  const claims = options.mayWait ? [true, false] : [true];
  for (;;) {
    const probe = await essayStatesProbeText(tx, batchId, fill.textStorageId);
    if (probe.essayId) return { kind: 'already-assigned', essayId: probe.essayId };
    if (probe.excessReported) return { kind: 'already-excess' };
    if (probe.freeSlots === 0) return { kind: 'exhausted' };
    let collided = false;
    for (const skipLocked of claims) {
      // A claim that finds nothing is rolled back, so a slot it locked without taking (taken meanwhile)
      // is not held while this transaction waits again.
      const claimed = await claimInSavepoint<ClaimedSlot>(tx, (sp) =>
        essayStatesClaimFree(sp, batchId, [fill], now, { skipLocked }),
      );
      if (claimed === 'collided') {
        collided = true;
        break;
      }
      const slot = claimed[0];
      if (slot) return { kind: 'filled', slot };
    }
    if (!options.mayWait && !collided) return { kind: 'busy' };
  }
}
