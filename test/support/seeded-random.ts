/**
 * Random inputs a failing run can replay: a small PRNG (mulberry32) seeded from TEST_SEED when set,
 * else at random, and the seed printed once per suite. Put `seed` in the failure (it is in `expect`'s diff).
 */
export interface SeededRandom {
  seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number;
  /** One of `items`. */
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(suite: string, seed = seedFromEnv()): SeededRandom {
  console.log(`${suite}: random seed ${seed} (replay with TEST_SEED=${seed})`);
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo));
  return { seed, next, int, pick: (items) => items[int(0, items.length)] };
}

function seedFromEnv(): number {
  const fromEnv = process.env.TEST_SEED;
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv) >>> 0;
  return Math.floor(Math.random() * 4_294_967_296);
}
