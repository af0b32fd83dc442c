/**
 * An event for a Ready resource whose adapter last reported longer ago than this is a drift check
 * (spec §7): the adapter reads Kubernetes, not its cache. DRIFT_CHECK_AFTER's default; npm start
 * scales it with --speed. A module of its own so the launcher can read it without loading an adapter.
 */
export const DRIFT_CHECK_AFTER_MS = 60_000;
