/**
 * What a chaos run does and when, decided before it starts (pure, seeded): the rollout's operations
 * (every cluster created, some updated once or twice, some deleted) spread over the rollout window,
 * and the faults spread over the same window, each at a planned moment (scenario.ts delays one
 * until the fault before it has recovered).
 */
import type { SeededRandom } from "../support/seeded-random.js";

export type OpKind = "create" | "update" | "delete";

/** One API call of the rollout: `cluster` is the cluster's index (its name is chaos-<index>). */
export interface Op {
  at: number;
  kind: OpKind;
  cluster: number;
}

export interface RolloutPlan {
  ops: Op[];
  /** Indices of the clusters deleted during the rollout. */
  deleted: Set<number>;
}

/** Shares of the fleet: updated once (and, of those, again), and deleted. */
export const UPDATE_SHARE = 0.4;
export const SECOND_UPDATE_SHARE = 0.25;
export const DELETE_SHARE = 0.2;
/** Creates happen in the first part of the window, so that updates and deletes follow through the rest of it. */
export const CREATE_SHARE_OF_WINDOW = 0.6;

/**
 * Every cluster is created once, at a time uniform over the first 60 % of the window. 40 % of them are
 * updated after their create (a quarter of those a second time), and 20 % are deleted after their
 * last other operation; each operation of a cluster comes after the one before it, so some land on a
 * cluster still converging and some on a Ready one. Sorted by time.
 */
export function planRollout(clusters: number, windowMs: number, rnd: SeededRandom): RolloutPlan {
  const ops: Op[] = [];
  const deleted = new Set<number>();
  for (let i = 0; i < clusters; i++) {
    let t = Math.floor(rnd.next() * windowMs * CREATE_SHARE_OF_WINDOW);
    ops.push({ at: t, kind: "create", cluster: i });
    const later = () => (t = t + Math.floor(rnd.next() * (windowMs - t)));
    if (rnd.next() < UPDATE_SHARE) {
      ops.push({ at: later(), kind: "update", cluster: i });
      if (rnd.next() < SECOND_UPDATE_SHARE) ops.push({ at: later(), kind: "update", cluster: i });
    }
    if (rnd.next() < DELETE_SHARE) {
      ops.push({ at: later(), kind: "delete", cluster: i });
      deleted.add(i);
    }
  }
  // Stable by time, then by the order they were planned (a cluster's own ops stay in order at equal times).
  return { ops: ops.map((op, i) => ({ op, i })).sort((a, b) => a.op.at - b.op.at || a.i - b.i).map((x) => x.op), deleted };
}

export type FaultKind = "kill" | "postgres" | "broker";

/** A fault of the run: kill -9 of one service (by its name in `npm start`), or a restart of Postgres or the broker. */
export interface Fault {
  kind: FaultKind;
  /** The service killed (kill only): api, sentinel, validation, dns, placement, nodepool. */
  service?: string;
  label: string;
}

/**
 * The faults in the order they strike: the heavier ones (the API, Postgres, the broker) are separated
 * by lighter ones, so that each recovers before the next heavy one.
 */
export function faultList(brokerName: string): Fault[] {
  const kill = (service: string, label: string): Fault => ({ kind: "kill", service, label });
  return [
    kill("validation", "kill -9 adapter validation"),
    kill("api", "kill -9 API"),
    kill("dns", "kill -9 adapter dns"),
    { kind: "postgres", label: "restart Postgres (kill -9, start)" },
    kill("sentinel", "kill -9 Sentinel (clusters)"),
    { kind: "broker", label: `restart broker (${brokerName})` },
    kill("placement", "kill -9 adapter placement"),
    kill("nodepool", "kill -9 adapter nodepool"),
  ];
}

/** Faults strike between these fractions of the rollout window (the last ones leave it time to recover). */
export const FAULTS_FROM = 0.1;
export const FAULTS_TO = 0.8;

/** Each fault at a planned time: evenly spaced over [10 %, 80 %] of the window, in the given order. */
export function scheduleFaults<F>(faults: F[], windowMs: number): { at: number; fault: F }[] {
  if (faults.length === 0) return [];
  const from = windowMs * FAULTS_FROM;
  const step = faults.length > 1 ? (windowMs * (FAULTS_TO - FAULTS_FROM)) / (faults.length - 1) : 0;
  return faults.map((fault, i) => ({ at: Math.round(from + i * step), fault }));
}
