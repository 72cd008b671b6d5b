import { createHash } from 'node:crypto';

/** Namespace of every ELS event id (a fixed random UUID; never change it: ids would stop matching). */
export const ELS_EVENT_NAMESPACE = '6f0a3c2e-2d6b-4c55-9d7e-8a1f3b9c4e21';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** RFC 4122 §4.3 name-based UUID (version 5, SHA-1). */
export function uuidV5(name: string, namespace: string = ELS_EVENT_NAMESPACE): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The deterministic id of an ELS-produced event: UUIDv5 of its kind and the keys that make it one logical
 * event, so a re-publish (or a second replica producing the same fact) carries the same id.
 */
export function deterministicEventId(kind: string, keys: readonly string[]): string {
  return uuidV5(JSON.stringify([kind, ...keys]));
}
