import { makeContent } from '@els/contracts/testing';
import type { EssayContentProvisioned } from '@els/contracts';
import type { ContentOutcome } from '../coordination-port';
import { coalesceContentBatches } from './content-coalescer';

const run = (batchId: string, ...texts: string[]): EssayContentProvisioned[] =>
  texts.map((text) => makeContent({ batchId, textStorageId: text }));

const outcomeOf = (event: EssayContentProvisioned): ContentOutcome => ({
  kind: 'assigned',
  batchId: event.data.entity_id,
  essayId: `e-${event.data.text_storage_id}`,
  textStorageId: event.data.text_storage_id,
  completed: false,
});

const texts = (outcomes: readonly ContentOutcome[]) => outcomes.map((o) => o.textStorageId);

/** A handler whose calls stay open until released, so the test decides what overlaps. */
function gatedHandler(fail: (events: EssayContentProvisioned[]) => Error | undefined = () => undefined) {
  const calls: string[][] = [];
  const gates: Array<() => void> = [];
  const handle = async (events: EssayContentProvisioned[]) => {
    calls.push(events.map((e) => e.data.text_storage_id));
    await new Promise<void>((resolve) => gates.push(resolve));
    const error = fail(events);
    if (error) throw error;
    return events.map(outcomeOf);
  };
  const releaseAll = async () => {
    for (let i = 0; i < 50 && (gates.length > 0 || i < 3); i += 1) {
      gates.splice(0).forEach((open) => open());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { calls, handle, releaseAll };
}

describe('coalesceContentBatches', () => {
  it('runs a lone caller at once, in a call of its own', async () => {
    const handler = gatedHandler();
    const coalesced = coalesceContentBatches(handler.handle, {
      maxEvents: 100,
      isUnavailability: () => false,
    });
    const pending = coalesced(run('b1', 't1', 't2'));
    await handler.releaseAll();
    expect(texts(await pending)).toEqual(['t1', 't2']);
    expect(handler.calls).toEqual([['t1', 't2']]);
  });

  it('joins the runs that arrive while a call is in flight into one call and gives each its own outcomes', async () => {
    const handler = gatedHandler();
    const calls: Array<{ events: number; callers: number }> = [];
    const coalesced = coalesceContentBatches(handler.handle, {
      maxEvents: 100,
      isUnavailability: () => false,
      onCall: ({ events, callers }) => calls.push({ events, callers }),
    });
    const first = coalesced(run('b1', 'a1'));
    const second = coalesced(run('b1', 'b1', 'b2'));
    const third = coalesced(run('b2', 'c1'));
    await handler.releaseAll();
    expect(texts(await first)).toEqual(['a1']);
    expect(texts(await second)).toEqual(['b1', 'b2']);
    expect(texts(await third)).toEqual(['c1']);
    expect(handler.calls).toEqual([['a1'], ['b1', 'b2', 'c1']]);
    expect(calls).toEqual([
      { events: 1, callers: 1 },
      { events: 3, callers: 2 },
    ]);
  });

  it('never puts more than maxEvents into one call, and never splits a run', async () => {
    const handler = gatedHandler();
    const coalesced = coalesceContentBatches(handler.handle, { maxEvents: 3, isUnavailability: () => false });
    const all = [
      coalesced(run('b', 'x')),
      coalesced(run('b', 'p1', 'p2')),
      coalesced(run('b', 'q1')),
      coalesced(run('b', 'r1', 'r2', 'r3', 'r4')),
      coalesced(run('b', 's1')),
    ];
    await handler.releaseAll();
    await Promise.all(all);
    expect(handler.calls).toEqual([['x'], ['p1', 'p2', 'q1'], ['r1', 'r2', 'r3', 'r4'], ['s1']]);
  });

  it('when a shared call fails, retries each run alone so only the run at fault fails', async () => {
    const bad = new Error('unusable event');
    const handler = gatedHandler((events) =>
      events.some((e) => e.data.text_storage_id === 'bad') ? bad : undefined,
    );
    const coalesced = coalesceContentBatches(handler.handle, {
      maxEvents: 100,
      isUnavailability: () => false,
    });
    const first = coalesced(run('b', 'ok0'));
    const good = coalesced(run('b', 'ok1', 'ok2'));
    const faulty = coalesced(run('b', 'bad'));
    const later = coalesced(run('b', 'ok3'));
    const settled = Promise.allSettled([first, good, faulty, later]);
    await handler.releaseAll();
    const [r0, r1, r2, r3] = await settled;
    expect(r0).toMatchObject({ status: 'fulfilled' });
    expect(r1.status === 'fulfilled' && texts(r1.value)).toEqual(['ok1', 'ok2']);
    expect(r2).toEqual({ status: 'rejected', reason: bad });
    expect(r3.status === 'fulfilled' && texts(r3.value)).toEqual(['ok3']);
    expect(handler.calls).toEqual([['ok0'], ['ok1', 'ok2', 'bad', 'ok3'], ['ok1', 'ok2'], ['bad'], ['ok3']]);
  });

  it('hands a retriable failure of a shared call to every caller, without a call per run', async () => {
    const down = new Error('database unavailable');
    let calls = 0;
    const gate = gatedHandler();
    const coalesced = coalesceContentBatches(
      async (events) => {
        calls += 1;
        if (calls === 1) return gate.handle(events);
        throw down;
      },
      { maxEvents: 100, isUnavailability: (error) => error === down },
    );
    const first = coalesced(run('b', 'a1'));
    const shared = [coalesced(run('b', 'b1')), coalesced(run('b', 'c1'))];
    const settled = Promise.allSettled(shared);
    await gate.releaseAll();
    expect(texts(await first)).toEqual(['a1']);
    expect(await settled).toEqual([
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);
    expect(calls).toBe(2);
  });

  it('rejects every caller when the handler returns the wrong number of outcomes', async () => {
    const gate = gatedHandler();
    let calls = 0;
    const coalesced = coalesceContentBatches(
      async (events) => {
        calls += 1;
        return calls === 1 ? gate.handle(events) : events.slice(1).map(outcomeOf);
      },
      { maxEvents: 100, isUnavailability: () => false },
    );
    const first = coalesced(run('b', 'a1'));
    const settled = Promise.allSettled([coalesced(run('b', 'b1')), coalesced(run('b', 'c1'))]);
    await gate.releaseAll();
    await first;
    for (const result of await settled) expect(result.status).toBe('rejected');
  });

  it('keeps working after a lone call failed', async () => {
    let failNext = true;
    const coalesced = coalesceContentBatches(
      async (events) => {
        if (failNext) {
          failNext = false;
          throw new Error('database unavailable');
        }
        return events.map(outcomeOf);
      },
      { maxEvents: 10, isUnavailability: () => true },
    );
    await expect(coalesced(run('b', 't1'))).rejects.toThrow('database unavailable');
    expect(texts(await coalesced(run('b', 't1')))).toEqual(['t1']);
  });
});
