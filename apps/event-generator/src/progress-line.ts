import type { ProduceProgress } from '@els/workload';

/** One progress line for stderr, e.g. `sent 12000/20000 (3 waves) · 1003 events/s · 12.0 s`. */
export function formatProgress(progress: ProduceProgress): string {
  const seconds = (progress.elapsedMs / 1000).toFixed(1);
  return `sent ${progress.sent}/${progress.planned} planned (${progress.waves} waves) · ${Math.round(progress.recentPerSec)} events/s · ${seconds} s`;
}
