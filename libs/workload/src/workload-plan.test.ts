import { TOPICS, parseEnvelope, partitionForKey } from '@els/contracts';
import {
  MALFORMED_CLASSES,
  MALFORMED_CLASS_CODES,
  OVERSIZED_VALUE_BYTES,
  type MalformedClass,
} from './malformed-message';
import { createPlan, planWave, type PlannedSend } from './workload-plan';
import { resolveWorkloadOptions } from './workload-options';

const sendsOf = (batchId: string, sends: PlannedSend[]) => sends.filter((send) => send.batchId === batchId);

describe('workload plan', () => {
  it('is identical for the same seed and differs for another seed', () => {
    const options = { batches: 3, slots: 10, duplicateRatio: 0.3, malformed: 2, validationFailures: 1 };
    const first = createPlan({ ...options, seed: 7 }, 2);
    const second = createPlan({ ...options, seed: 7 }, 2);
    const other = createPlan({ ...options, seed: 8 }, 2);
    const digest = (plan: typeof first) =>
      plan.waves.flatMap((wave) =>
        wave.sends.map((s) => `${s.topic}|${s.key}|${s.value.toString('base64')}`),
      );
    expect(digest(second)).toEqual(digest(first));
    expect(second.waves.map((w) => w.expectations)).toEqual(first.waves.map((w) => w.expectations));
    expect(digest(other)).not.toEqual(digest(first));
  });

  it('plans a wave without depending on the waves before it', () => {
    const options = resolveWorkloadOptions({ batches: 2, slots: 5, seed: 3 });
    const alone = planWave(options, 4);
    const inRun = createPlan({ batches: 2, slots: 5, seed: 3 }, 5).waves[4];
    expect(inRun?.sends.map((s) => s.value.toString())).toEqual(alone.sends.map((s) => s.value.toString()));
  });

  it('sends the planned numbers of texts, excess texts, duplicates, failures and malformed messages', () => {
    const plan = createPlan({
      slots: 20,
      excessRatio: 0.5,
      duplicateRatio: 0.2,
      duplicateConcurrency: 4,
      validationFailures: 2,
      malformed: 6,
      seed: 11,
    });
    const wave = plan.waves[0];
    const expectation = wave?.expectations[0];
    if (!wave || !expectation) throw new Error('no wave planned');
    const count = (kind: PlannedSend['kind']) => wave.sends.filter((send) => send.kind === kind).length;
    expect(expectation.textStorageIds).toHaveLength(30);
    expect(expectation.duplicatedTextStorageIds).toHaveLength(6);
    expect(count('content')).toBe(30);
    expect(count('duplicate')).toBe(6 * 3);
    expect(count('registration')).toBe(1);
    expect(count('validation-failure')).toBe(2);
    expect(count('malformed')).toBe(6);
    expect(new Set(wave.sends.filter((s) => s.kind === 'content').map((s) => s.textStorageId)).size).toBe(30);
    expect(expectation.completionExpected).toBe(true);
    expect(expectation.assigned).toEqual({ min: 18, max: 20 });
  });

  it('produces only contract-valid events apart from the malformed ones', () => {
    const plan = createPlan({
      batches: 2,
      slots: 6,
      duplicateRatio: 0.5,
      validationFailures: 1,
      malformed: 3,
    });
    const good = plan.waves.flatMap((wave) => wave.sends).filter((send) => send.kind !== 'malformed');
    expect(good.length).toBeGreaterThan(0);
    for (const send of good) {
      const result = parseEnvelope(send.value, send.topic);
      expect(result).toMatchObject({ ok: true });
      if (result.ok) expect(result.event.envelope.event_type).toBe(send.topic);
    }
  });

  it('makes every malformed class present and rejected by the contract for its own reason', () => {
    const expectedCodes = MALFORMED_CLASS_CODES;
    // One malformed message per batch: the classes rotate over the batches of the run.
    const plan = createPlan({ batches: 3, slots: 2, malformed: 1 }, 3);
    const malformed = plan.waves.flatMap((wave) => wave.sends).filter((send) => send.kind === 'malformed');
    expect(malformed.map((send) => send.malformedClass).sort()).toEqual([...MALFORMED_CLASSES].sort());
    for (const send of malformed) {
      const result = parseEnvelope(send.value, send.topic);
      expect({ cls: send.malformedClass, ok: result.ok }).toEqual({ cls: send.malformedClass, ok: false });
      if (!result.ok) expect(result.error.code).toBe(expectedCodes[send.malformedClass as MalformedClass]);
    }
    const oversized = malformed.find((send) => send.malformedClass === 'oversized');
    expect(oversized?.value.length).toBeGreaterThan(1024 * 1024);
    expect(oversized?.value.length).toBeLessThanOrEqual(OVERSIZED_VALUE_BYTES);
    const emptyIds = malformed.find((send) => send.malformedClass === 'empty-essay-ids');
    expect(emptyIds?.topic).toBe(TOPICS.batchEssaysRegistered);
    const surrogates = malformed.find((send) => send.malformedClass === 'unpaired-surrogate-ids');
    expect(surrogates?.value.toString()).toContain('-essay-\\ud800"');
    const longIds = malformed.find((send) => send.malformedClass === 'oversized-ids');
    const longResult = longIds ? parseEnvelope(longIds.value, longIds.topic) : undefined;
    expect(longResult?.ok === false && longResult.error.reason).toMatch(/at most 512 bytes/);
  });

  it('spreads the texts of one batch of 20 over at least three partitions with random keys', () => {
    const plan = createPlan({ slots: 20, seed: 5 });
    const content = plan.waves[0]?.sends.filter((send) => send.kind === 'content') ?? [];
    expect(content).toHaveLength(20);
    const partitions = new Set(content.map((send) => partitionForKey(send.key, 12)));
    expect(partitions.size).toBeGreaterThanOrEqual(3);
    expect(new Set(content.map((send) => send.key)).size).toBe(20);
    const registration = plan.waves[0]?.sends.find((send) => send.kind === 'registration');
    expect(registration?.key).toBe(registration?.batchId);
  });

  it('sends the copies of a duplicated text back-to-back to different partitions', () => {
    const plan = createPlan({ slots: 1, duplicateRatio: 1, duplicateConcurrency: 5, seed: 9 });
    const sends = plan.waves[0]?.sends.filter((send) => send.topic === TOPICS.essayContentProvisioned) ?? [];
    expect(sends.map((send) => send.kind)).toEqual([
      'content',
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    expect(new Set(sends.map((send) => partitionForKey(send.key, 12))).size).toBe(5);
    expect(new Set(sends.map((send) => send.value.toString())).size).toBe(1);

    const fresh = createPlan({
      slots: 1,
      duplicateRatio: 1,
      duplicateConcurrency: 3,
      duplicateMode: 'fresh',
    });
    const copies =
      fresh.waves[0]?.sends.filter((send) => send.topic === TOPICS.essayContentProvisioned) ?? [];
    expect(new Set(copies.map((send) => send.eventId)).size).toBe(3);
    expect(new Set(copies.map((send) => send.textStorageId)).size).toBe(1);
  });

  it('sends exactly the recorded share of texts before the registration, batch by batch', () => {
    const plan = createPlan({ batches: 4, slots: 20, beforeRegistration: 0.25, malformed: 1, seed: 21 });
    const wave = plan.waves[0];
    if (!wave) throw new Error('no wave planned');
    for (const expectation of wave.expectations) {
      const sends = sendsOf(expectation.batchId, wave.sends);
      const registrationAt = sends.findIndex((send) => send.kind === 'registration');
      const before = sends.slice(0, registrationAt).filter((send) => send.kind === 'content');
      expect(expectation.textsBeforeRegistration).toHaveLength(5);
      expect(before.map((send) => send.textStorageId)).toEqual(expectation.textsBeforeRegistration);
    }
    // Batches are interleaved, not sent one after another.
    const firstBatchOf = wave.sends.slice(0, 20).map((send) => send.batchId);
    expect(new Set(firstBatchOf).size).toBeGreaterThan(1);
  });

  it('redelivers each registration after it, alternating its own event id and a new one', () => {
    const plan = createPlan({ batches: 2, slots: 6, registrationRedeliveries: 3, beforeRegistration: 0.5 });
    const wave = plan.waves[0];
    for (const expectation of wave?.expectations ?? []) {
      const sends = sendsOf(expectation.batchId, wave?.sends ?? []);
      const registrations = sends.filter((s) => s.topic === TOPICS.batchEssaysRegistered);
      expect(registrations.map((s) => s.kind)).toEqual([
        'registration',
        'registration-redelivery',
        'registration-redelivery',
        'registration-redelivery',
      ]);
      const [first, ...copies] = registrations;
      const same = copies.filter((copy) => copy.eventId === first?.eventId);
      const fresh = copies.filter((copy) => copy.eventId !== first?.eventId);
      expect([same.length, fresh.length]).toEqual([2, 1]);
      for (const copy of same) expect(copy.value.equals(first?.value ?? Buffer.alloc(0))).toBe(true);
      const parsed = parseEnvelope(fresh[0]?.value, TOPICS.batchEssaysRegistered);
      expect(parsed.ok && parsed.event.envelope.event_id).toBe(fresh[0]?.eventId);
      const original = JSON.parse(first?.value.toString() ?? '{}') as Record<string, unknown>;
      const copy = JSON.parse(fresh[0]?.value.toString() ?? '{}') as Record<string, unknown>;
      expect({ ...copy, event_id: original['event_id'] }).toEqual(original);
      // The texts sent before the registration stay before it; no copy precedes the registration.
      expect(sends.findIndex((s) => s.kind === 'registration-redelivery')).toBeGreaterThan(
        sends.findIndex((s) => s.kind === 'registration'),
      );
      expect(expectation.assigned).toEqual({ min: 6, max: 6 });
    }
  });

  it('leaves the chosen share of batches unregistered and expects nothing assigned for them', () => {
    const plan = createPlan({ batches: 4, slots: 3, withoutRegistration: 0.5 });
    const wave = plan.waves[0];
    const unregistered = wave?.expectations.filter((e) => !e.registrationSent) ?? [];
    expect(unregistered).toHaveLength(2);
    for (const expectation of unregistered) {
      expect(sendsOf(expectation.batchId, wave?.sends ?? []).some((s) => s.kind === 'registration')).toBe(
        false,
      );
      expect(expectation).toMatchObject({ completionExpected: false, assigned: { min: 0, max: 0 } });
    }
  });

  it('expects an exact assignment count when texts and failures fit the slots', () => {
    const plan = createPlan({ slots: 10, texts: 6, validationFailures: 2 });
    expect(plan.waves[0]?.expectations[0]).toMatchObject({
      completionExpected: false,
      assigned: { min: 6, max: 6 },
    });
  });

  it('rejects options out of range', () => {
    expect(() => createPlan({ duplicateRatio: 1.5 })).toThrow(/duplicateRatio/);
    expect(() => createPlan({ duplicateConcurrency: 1 })).toThrow(/duplicateConcurrency/);
  });
});
