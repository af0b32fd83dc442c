import type { AdapterPlan } from "./adapter-config.js";
import { KubeError, type KubeObject, type KubeObjects } from "./kube.js";

/**
 * Ensures what the adapter's objects need before the first event: its namespace and the `setup`
 * objects of its config (e.g. the DNSRecord CRD). Existing objects are left as they are.
 */
export async function ensureSetup(plan: AdapterPlan, kube: KubeObjects): Promise<string[]> {
  const wanted: KubeObject[] = [
    ...(plan.setup as unknown as KubeObject[]),
    { apiVersion: "v1", kind: "Namespace", metadata: { name: plan.namespace } },
  ];
  const created: string[] = [];
  for (const obj of wanted) {
    try {
      await kube.create(obj);
      created.push(`${obj.kind} ${obj.metadata?.name}`);
    } catch (err) {
      if (!(err instanceof KubeError && err.code === 409)) throw err;
    }
  }
  return created;
}
