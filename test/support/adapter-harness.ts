import { createApiClient, type ApiClient } from "../../services/shared/api-client.js";
import { loadAdapterConfig, type AdapterPlan } from "../../services/adapter/adapter-config.js";
import { createKubeObjects, type KubeObjects } from "../../services/adapter/kube.js";
import { ensureSetup } from "../../services/adapter/setup.js";
import { startApi, type TestApi } from "./start-api.js";
import { startStandin, type TestStandin } from "./start-standin.js";

/** The real API (temporary Postgres database), the stand-in through client-node, and shipped adapter configs set up on it. */
export interface AdapterHarness {
  api: TestApi;
  standin: TestStandin;
  client: ApiClient;
  kube: KubeObjects;
  plans: Record<string, AdapterPlan>;
  close(): Promise<void>;
}

export async function startAdapterHarness(adapters: string[], stages?: Parameters<typeof startStandin>[0]): Promise<AdapterHarness> {
  const [api, standin] = await Promise.all([startApi(), startStandin(stages)]);
  const kube = createKubeObjects({ kind: "url", url: standin.url }, 5000);
  const plans: Record<string, AdapterPlan> = {};
  for (const name of adapters) {
    plans[name] = loadAdapterConfig(`services/adapter/configs/${name}.yaml`);
    await ensureSetup(plans[name], kube);
  }
  return {
    api,
    standin,
    client: createApiClient(api.baseUrl),
    kube,
    plans,
    async close() {
      await standin.close();
      await api.close();
    },
  };
}
