/** A sleep that another party can cut short: the relay and the sweeper wait on it between passes. */
export interface WakeableSleep {
  sleep(ms: number): Promise<void>;
  /** Ends the current sleep; returns false when nothing was sleeping. */
  wake(): boolean;
}

export function createWakeableSleep(): WakeableSleep {
  let wake: (() => void) | undefined;
  return {
    sleep(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
    wake() {
      if (!wake) return false;
      wake();
      return true;
    },
  };
}
