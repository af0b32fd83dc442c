/**
 * How often an adapter sweeps its orphans (ORPHAN_SWEEP_INTERVAL's default; npm start divides it by
 * --speed). A module of its own so the launcher can read it without loading an adapter.
 */
export const ORPHAN_SWEEP_INTERVAL_MS = 5 * 60_000;

/** The shortest interval accepted: each sweep lists every object and asks the API about every resource. */
export const MIN_ORPHAN_SWEEP_INTERVAL_MS = 1000;
export const MAX_ORPHAN_SWEEP_INTERVAL_MS = 24 * 3_600_000;
