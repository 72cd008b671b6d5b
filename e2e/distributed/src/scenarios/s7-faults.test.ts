import { FAULT_KINDS } from '../nemesis/fault-schedule';
import { faultKindsFor } from './s7-faults';

describe('scenario 7 fault kinds', () => {
  it('the CI profile draws every kind but the pause beyond the session timeout, the new outages included', () => {
    const kinds = faultKindsFor({ faults: undefined, profile: 'ci', driver: 'process' });
    expect(kinds).toEqual(expect.arrayContaining(['postgres-read-only', 'net-refuse']));
    expect(kinds).not.toContain('replica-long-pause');
    expect(kinds).toHaveLength(FAULT_KINDS.length - 1);
    expect(faultKindsFor({ faults: undefined, profile: 'full', driver: 'process' })).toEqual(FAULT_KINDS);
  });

  it('the Compose driver draws no network fault but keeps the read-only database', () => {
    const kinds = faultKindsFor({ faults: undefined, profile: 'ci', driver: 'compose' });
    expect(kinds.filter((kind) => kind.startsWith('net-'))).toEqual([]);
    expect(kinds).toContain('postgres-read-only');
    expect(
      faultKindsFor({ faults: ['net-refuse', 'postgres-read-only'], profile: 'ci', driver: 'compose' }),
    ).toEqual(['postgres-read-only']);
  });

  it('E2E_FAULTS chooses explicitly, whatever the profile', () => {
    expect(faultKindsFor({ faults: ['net-refuse'], profile: 'ci', driver: 'process' })).toEqual([
      'net-refuse',
    ]);
    expect(faultKindsFor({ faults: ['replica-long-pause'], profile: 'ci', driver: 'process' })).toEqual([
      'replica-long-pause',
    ]);
  });
});
