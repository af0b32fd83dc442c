/**
 * The stack's service processes, found by pid under the `npm start` process (Linux /proc), named as
 * the stack names them (api, sentinel, sentinel-np, kube, validation, dns, placement, nodepool), and
 * their peak resident memory.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ServiceProcess {
  name: string;
  pid: number;
}

function field(environ: string[], name: string): string | undefined {
  return environ.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** The running children of `stackPid`, by service name. */
export function stackServices(stackPid: number): ServiceProcess[] {
  const out: ServiceProcess[] = [];
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) !== stackPid || state === "Z" || state === "X") continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      const env = readFileSync(`/proc/${d}/environ`, "utf8").split("\0");
      const service = /(api|sentinel|adapter|kube-standin)\.mjs/.exec(cmd)?.[1] ?? /services\/([^/]+)\/main\.ts/.exec(cmd)?.[1];
      if (!service) continue;
      const name =
        service === "adapter" ? (field(env, "ADAPTER") ?? "adapter") : service === "sentinel" ? (field(env, "RESOURCE_KIND") === "nodepools" ? "sentinel-np" : "sentinel") : service === "kube-standin" ? "kube" : service;
      out.push({ name, pid: Number(d) });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

export { peakRssMb } from "../../bench/support.js";
