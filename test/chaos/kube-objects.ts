/**
 * What the adapters made on Kubernetes, read from the stand-in's REST API: a list of every object of
 * the adapters' kinds, and a watch on Jobs for the whole run, so that a Job created twice (a second
 * uid for one cluster and generation) is seen even if the second one is gone by the end.
 */
import http from "node:http";
import type { KubeObjectSeen } from "./invariants.js";

const LABEL_CLUSTER = "hyperfleet.io/cluster-id";
const LABEL_ADAPTER = "hyperfleet.io/adapter";
const ANNOTATION_GENERATION = "hyperfleet.io/generation";

/** The kinds the shipped adapters create, by their REST path under /apis. */
export const ADAPTER_KINDS = [
  { kind: "Job", path: "batch/v1", plural: "jobs" },
  { kind: "DNSRecord", path: "hyperfleet.io/v1alpha1", plural: "dnsrecords" },
  { kind: "NodePool", path: "hyperfleet.io/v1alpha1", plural: "nodepools" },
];

interface RawObject {
  kind?: string;
  metadata?: { name?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

function seen(kind: string, o: RawObject): KubeObjectSeen {
  const m = o.metadata ?? {};
  const gen = m.annotations?.[ANNOTATION_GENERATION];
  return { kind, name: m.name ?? "", uid: m.uid ?? "", clusterId: m.labels?.[LABEL_CLUSTER], adapter: m.labels?.[LABEL_ADAPTER], generation: gen === undefined ? undefined : Number(gen) };
}

/** Every object of the adapters' kinds in `namespace` (a kind whose CRD is not installed has none). */
export async function listAdapterObjects(kubeUrl: string, namespace: string): Promise<KubeObjectSeen[]> {
  const out: KubeObjectSeen[] = [];
  for (const k of ADAPTER_KINDS) {
    const res = await fetch(`${kubeUrl}/apis/${k.path}/namespaces/${namespace}/${k.plural}`, { signal: AbortSignal.timeout(10_000) });
    if (res.status === 404) continue;
    if (!res.ok) throw new Error(`listing ${k.plural}: HTTP ${res.status} ${await res.text()}`);
    const list = (await res.json()) as { items: RawObject[] };
    out.push(...list.items.map((o) => seen(k.kind, o)));
  }
  return out;
}

/**
 * Watches Jobs in `namespace` until stopped, handing every object it sees (ADDED and MODIFIED) to
 * `onObject`. It resumes from the last resourceVersion after a dropped connection, and starts again
 * from a full listing when the stand-in says that version is too old.
 */
export function watchJobs(kubeUrl: string, namespace: string, onObject: (o: KubeObjectSeen) => void): { stop(): void } {
  let stopped = false;
  let rv: string | undefined;
  let req: http.ClientRequest | undefined;
  const connect = () => {
    if (stopped) return;
    const url = new URL(`${kubeUrl}/apis/batch/v1/namespaces/${namespace}/jobs`);
    url.searchParams.set("watch", "true");
    url.searchParams.set("allowWatchBookmarks", "true");
    if (rv) url.searchParams.set("resourceVersion", rv);
    let buffered = "";
    let again = false;
    const reconnect = (ms: number) => {
      if (again) return;
      again = true;
      setTimeout(connect, ms);
    };
    req = http.get(url, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.trim()) continue;
          const e = JSON.parse(line) as { type: string; object: RawObject & { code?: number } };
          if (e.type === "ERROR") {
            rv = undefined; // too old: list again (every Job comes as ADDED)
            continue;
          }
          rv = e.object.metadata?.resourceVersion ?? rv;
          if (e.type === "ADDED" || e.type === "MODIFIED") onObject(seen("Job", e.object));
        }
      });
      res.on("end", () => reconnect(200));
      res.on("error", () => reconnect(500));
    });
    req.on("error", () => reconnect(500));
  };
  connect();
  return {
    stop() {
      stopped = true;
      req?.destroy();
    },
  };
}
