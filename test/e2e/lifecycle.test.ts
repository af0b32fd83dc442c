/**
 * Spec §8 end to end on the whole running system: a cluster with two nodepools reaches Ready, is
 * deleted, every adapter cleans up on Kubernetes, and the API removes nodepools then the cluster.
 *
 * @requires pubsub
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { createApiClient, type ApiClient } from "../../services/shared/api-client.js";
import { startStack, type RunningStack } from "../support/start-stack.js";
import { eventually } from "../support/brokers.js";

let stack: RunningStack;
let api: ApiClient;
let kube: KubernetesObjectApi;

beforeAll(async () => {
  // Over TLS (npm start -- --tls): every call of the loop, Sentinel and adapters to the API included, is encrypted and authenticated.
  stack = await startStack({ HYPERFLEET_TLS: "true", POLL_INTERVAL: "250ms", MAX_AGE_NOT_READY: "500ms", MAX_AGE_READY: "30s", STANDIN_JOB_DURATION: "1s", STANDIN_DNS_DELAY: "1s" });
  api = createApiClient(stack.apiUrl, { interceptors: stack.credentials, tls: stack.tls });
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "e2e", server: stack.kubeUrl, skipTLSVerify: true }, { name: "e2e" });
  kube = KubernetesObjectApi.makeApiClient(kc);
}, 120_000);
afterAll(() => stack?.stop(), 60_000);

const gone = (p: Promise<unknown>) => p.then(() => undefined, (e) => (ConnectError.from(e).code === Code.NotFound ? true : undefined));
async function objectsOf(clusterId: string): Promise<string[]> {
  const out: string[] = [];
  for (const [apiVersion, kind] of [["batch/v1", "Job"], ["hyperfleet.io/v1alpha1", "DNSRecord"], ["hyperfleet.io/v1alpha1", "NodePool"]]) {
    const list = await kube.list(apiVersion, kind, "hyperfleet", undefined, undefined, undefined, undefined, `hyperfleet.io/cluster-id=${clusterId}`);
    out.push(...list.items.map((o) => `${kind}/${o.metadata?.name}`));
  }
  return out;
}

test("create cluster + 2 nodepools → Ready → delete the cluster → nodepools and cluster finalized → NotFound, objects gone", async () => {
  const c = await api.clusters.createCluster({ name: "lifecycle", spec: { simulate: { placementDuration: "1s" } } });
  const nps = [await api.nodepools.createNodePool({ clusterId: c.id, name: "np-a", spec: {} }), await api.nodepools.createNodePool({ clusterId: c.id, name: "np-b", spec: {} })];
  await eventually(async () => ((await api.clusters.getCluster({ id: c.id })).status?.phase === Phase.READY ? true : undefined), 60_000, 200);
  for (const np of nps) await eventually(async () => ((await api.nodepools.getNodePool({ id: np.id })).status?.phase === Phase.READY ? true : undefined), 30_000, 200);
  expect((await objectsOf(c.id)).sort()).toEqual([`DNSRecord/${c.id}-dns`, `Job/placement-${c.id}`, `Job/validation-${c.id}-gen1`, `NodePool/${nps[0].id}`, `NodePool/${nps[1].id}`].sort());

  await api.clusters.deleteCluster({ id: c.id });
  for (const np of nps) await eventually(() => gone(api.nodepools.getNodePool({ id: np.id })), 30_000, 200);
  await eventually(() => gone(api.clusters.getCluster({ id: c.id })), 30_000, 200);
  expect(await objectsOf(c.id)).toEqual([]);
}, 180_000);

test("the TLS stack speaks only TLS: a cleartext call to the API's port fails, a call without the CA is refused", async () => {
  const port = new URL(stack.apiUrl).port;
  expect(stack.apiUrl).toMatch(/^https:/);
  const cleartext = createApiClient(`http://127.0.0.1:${port}`, { interceptors: stack.credentials, timeoutMs: 3000 });
  await expect(cleartext.clusters.listClusters({})).rejects.toBeInstanceOf(ConnectError);
  const untrusted = createApiClient(stack.apiUrl, { interceptors: stack.credentials, timeoutMs: 3000 });
  await expect(untrusted.clusters.listClusters({})).rejects.toThrow(/certificate|self-signed|unable to verify/i);
});
