/** A sleep that another party can cut short: the relay and the sweeper wait on it between passes. */
export interface WakeableSleep {
  /** Resolves true when `wake()` ended it, false when its time ran out. */
  sleep(ms: number): Promise<boolean>;
  /** Ends the current sleep; returns false when nothing was sleeping. */
  wake(): boolean;
}

export function createWakeableSleep(): WakeableSleep {
  let wake: (() => void) | undefined;
  return {
    sleep(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => done(false), ms);
        function done(woken: boolean) {
          clearTimeout(timer);
          wake = undefined;
          resolve(woken);
        }
        wake = () => done(true);
      });
    },
    wake() {
      if (!wake) return false;
      wake();
      return true;
    },
  };
}
