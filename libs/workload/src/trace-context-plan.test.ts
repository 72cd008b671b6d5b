import { isValidTraceparent, parseEnvelope, traceContextOf } from '@els/contracts';
import { producerShapeErrors } from '@els/contracts/testing';
import { planTraceContext } from './trace-context-plan';
import { createPlan, type PlannedSend } from './workload-plan';

const valid = (send: PlannedSend) => send.kind !== 'malformed';

describe('planned trace contexts', () => {
  it('depend on the seed, the run id and the event id alone', () => {
    const context = planTraceContext(7, 'run', 'ev-1');
    expect(planTraceContext(7, 'run', 'ev-1')).toEqual(context);
    expect(planTraceContext(8, 'run', 'ev-1')).not.toEqual(context);
    expect(planTraceContext(7, 'other-run', 'ev-1')).not.toEqual(context);
    expect(planTraceContext(7, 'run', 'ev-2')).not.toEqual(context);
  });

  it('are mostly valid W3C contexts, a third of them with a tracestate, and a few deliberately invalid', () => {
    const contexts = Array.from({ length: 3000 }, (_, i) => planTraceContext(1, 'run', `ev-${i}`));
    const validOnes = contexts.filter((c) => isValidTraceparent(c.traceparent));
    const invalid = contexts.length - validOnes.length;
    const withState = validOnes.filter((c) => c.tracestate !== undefined).length;
    // 1 in 16 invalid, 1 in 3 of the valid ones with a tracestate: well inside these bounds at n = 3000.
    expect(invalid).toBeGreaterThan(120);
    expect(invalid).toBeLessThan(260);
    expect(withState / validOnes.length).toBeGreaterThan(0.28);
    expect(withState / validOnes.length).toBeLessThan(0.39);
    expect(new Set(validOnes.map((c) => c.traceparent.slice(3, 35))).size).toBe(validOnes.length);
  });
});

describe('a planned workload, against what the real producers send', () => {
  const plan = createPlan(
    {
      batches: 4,
      slots: 8,
      excessRatio: 0.25,
      duplicateRatio: 0.5,
      duplicateConcurrency: 3,
      validationFailures: 2,
      registrationRedeliveries: 2,
      malformed: 3,
      seed: 5,
    },
    2,
  );
  const sends = plan.waves.flatMap((wave) => wave.sends);

  it('gives every valid event the producer model shape of its kind', () => {
    const problems = sends
      .filter(valid)
      .flatMap((send) =>
        producerShapeErrors(JSON.parse(send.value.toString())).map((p) => `${send.kind}: ${p}`),
      );
    expect(problems).toEqual([]);
  });

  it('gives every valid event a traceparent in its metadata, and records it as sent', () => {
    for (const send of sends.filter(valid)) {
      const parsed = parseEnvelope(send.value, send.topic);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      const metadata = parsed.event.envelope.metadata ?? {};
      expect(send.traceparent).toEqual(expect.any(String));
      expect({ traceparent: metadata['traceparent'], tracestate: metadata['tracestate'] }).toEqual({
        traceparent: send.traceparent,
        tracestate: send.tracestate,
      });
    }
    const usable = sends
      .filter(valid)
      .map((send) => traceContextOf({ traceparent: send.traceparent, tracestate: send.tracestate }));
    expect(usable.filter((c) => c === null).length).toBeGreaterThan(0);
    expect(usable.filter((c) => c?.tracestate !== undefined && c !== null).length).toBeGreaterThan(0);
  });

  it('gives copies of one event its context, a re-sent registration its original one, others their own', () => {
    const byEventId = new Map<string, Set<string>>();
    for (const send of sends.filter(valid)) {
      const seen = byEventId.get(send.eventId ?? '') ?? new Set<string>();
      seen.add(`${send.traceparent}|${send.tracestate}`);
      byEventId.set(send.eventId ?? '', seen);
    }
    for (const contexts of byEventId.values()) expect(contexts.size).toBe(1);
    for (const batch of plan.waves.flatMap((wave) => wave.expectations)) {
      const registrations = sends.filter(
        (s) => s.batchId === batch.batchId && s.kind.startsWith('registration'),
      );
      expect(new Set(registrations.map((s) => s.traceparent)).size).toBe(registrations.length > 0 ? 1 : 0);
    }
    const contents = sends.filter((s) => s.kind === 'content');
    expect(new Set(contents.map((s) => s.traceparent)).size).toBe(contents.length);
  });
});
