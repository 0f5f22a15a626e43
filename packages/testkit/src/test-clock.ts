/** A clock tests move by hand; `now()` is what app and worker read. */
export interface TestClock {
  now: () => Date;
  set(at: Date | string): void;
  advance(ms: number): void;
  /** Back to following real time. */
  real(): void;
}

export function createTestClock(): TestClock {
  let fixed: Date | null = null;
  return {
    now: () => (fixed ? new Date(fixed) : new Date()),
    set: (at) => void (fixed = new Date(at)),
    advance: (ms) => void (fixed = new Date((fixed ?? new Date()).getTime() + ms)),
    real: () => void (fixed = null),
  };
}

export const DAY = 86_400_000;
