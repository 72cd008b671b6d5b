import type { FaultDetails } from '../nemesis/fault-kinds';

/**
 * A fault as it ran: its label and real window, and what the nemesis recorded about it (scenario 7: its
 * kind and family, the replica it acted on, a network fault's dependency and who still reached it, whether
 * a lock pause caught the replica holding row locks; `FaultDetails`). Windows other scenarios record carry
 * the label and times only.
 */
export interface FaultWindow extends FaultDetails {
  label: string;
  startMs: number;
  endMs: number;
}
