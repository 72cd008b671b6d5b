import { readRunLog } from './merged-log';

/**
 * The configuration the replicas of a run really ran with: each worker logs its parsed configuration once
 * at start (`Configuration loaded`, field `config`: the worker's defaults, the suite's settings and the
 * scenario's own, as parsed), so a bound derived from it cannot drift from the worker's defaults or the
 * suite's settings.
 */

export const CONFIGURATION_LOADED = 'Configuration loaded';

/**
 * The numeric settings `keys` from the first `Configuration loaded` line of the run's replica logs in
 * `logDir`; an error message when no line has them all.
 */
export function readReplicaSettings<K extends string>(
  logDir: string,
  keys: readonly K[],
): Record<K, number> | string {
  let found = 0;
  for (const entry of readRunLog(logDir)) {
    if (entry.fields['msg'] !== CONFIGURATION_LOADED) continue;
    found += 1;
    const config = entry.fields['config'];
    if (config === null || typeof config !== 'object') continue;
    const values = config as Record<string, unknown>;
    if (keys.every((key) => typeof values[key] === 'number')) {
      return Object.fromEntries(keys.map((key) => [key, values[key] as number])) as Record<K, number>;
    }
  }
  return found === 0
    ? `no '${CONFIGURATION_LOADED}' line in the replica logs of ${logDir}`
    : `no '${CONFIGURATION_LOADED}' line of ${logDir} has every setting of ${keys.join(', ')}`;
}
