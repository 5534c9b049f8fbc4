/**
 * A seeded pseudo-random generator (mulberry32) for reproducible random test data:
 * a failing case names its seed, and the same seed gives the same data on every machine.
 */

/** A generator of uniform floats in [0, 1), fully determined by `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max] drawn from `rng`. */
export function intBetween(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** One element of `items` drawn from `rng`. */
export function pick<T>(rng: () => number, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/**
 * The seed of a randomized test run: the integer in the environment variable `envName` replays a run, else a
 * fresh one. Printed at once (`# seed N (envName=N replays it)`), so a run that crashes still names it; a value
 * that is not an integer is refused rather than read as NaN (which would seed every run alike).
 */
export function runSeed(envName: string, env: NodeJS.ProcessEnv = process.env, fresh: () => number = Math.random): number {
  const fixed = env[envName];
  const seed = fixed === undefined || fixed === '' ? Math.floor(fresh() * 1_000_000) : Number(fixed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${envName}=${String(fixed)}: want a non-negative integer (the seed a run printed)`);
  console.log(`# seed ${seed} (${envName}=${seed} replays it)`);
  return seed;
}
