import { parseRunSettings } from './run-settings';

describe('run settings', () => {
  it('takes E2E_SEED as given, and draws one (within range) when it is absent', () => {
    const given = parseRunSettings({ E2E_SEED: '4294967295' });
    expect(given).toMatchObject({ seed: 4294967295, seedGiven: true });
    const drawn = parseRunSettings({});
    expect(drawn.seedGiven).toBe(false);
    expect(Number.isInteger(drawn.seed) && drawn.seed >= 0 && drawn.seed <= 0xffffffff).toBe(true);
  });

  it.each(['-1', '4294967296', '1.5', 'abc', '0x10'])('refuses E2E_SEED=%s', (value) => {
    expect(() => parseRunSettings({ E2E_SEED: value })).toThrow(/E2E_SEED must be an integer/);
  });

  it('reads E2E_FAULTS into fault kinds and names an unknown one', () => {
    expect(parseRunSettings({}).faults).toBeUndefined();
    expect(parseRunSettings({ E2E_FAULTS: 'replica-kill,kafka-crash' }).faults).toEqual([
      'replica-kill',
      'kafka-crash',
    ]);
    expect(() => parseRunSettings({ E2E_FAULTS: 'meteor' })).toThrow(/unknown fault kind meteor/);
  });

  it('selects scenarios by id or name and refuses unknown ones', () => {
    expect([...parseRunSettings({ E2E_SCENARIO: '1,faults' }).selected]).toEqual([1, 7]);
    expect(() => parseRunSettings({ E2E_SCENARIO: '10' })).toThrow(/unknown scenario/);
  });

  it('reads E2E_REPLICA_CPU (uncapped by default or with off) and refuses a cap that is no number of cores', () => {
    expect(parseRunSettings({}).replicaCpus).toBeUndefined();
    expect(parseRunSettings({ E2E_REPLICA_CPU: 'off' }).replicaCpus).toBeUndefined();
    expect(parseRunSettings({ E2E_REPLICA_CPU: '0.2' }).replicaCpus).toBe(0.2);
    for (const bad of ['0', '-1', 'fifth', '100']) {
      expect(() => parseRunSettings({ E2E_REPLICA_CPU: bad })).toThrow(
        /E2E_REPLICA_CPU must be a number of cores/,
      );
    }
  });

  it('reads E2E_DRIVER (process by default) and refuses an unknown one', () => {
    expect(parseRunSettings({}).driver).toBe('process');
    expect(parseRunSettings({ E2E_DRIVER: 'compose' }).driver).toBe('compose');
    expect(() => parseRunSettings({ E2E_DRIVER: 'kubernetes' })).toThrow(/E2E_DRIVER: unknown driver/);
  });
});
