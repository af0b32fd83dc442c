/**
 * Resident memory of each service process, sampled from /proc/PID/status every ~100 ms (VmRSS), with
 * the kernel's own high-water mark (VmHWM) as the backstop for a peak between two samples: when the
 * high-water mark rose during a window, the window holds the process's peak so far, exactly.
 */
import { readFileSync } from "node:fs";

interface Sample {
  t: number;
  name: string;
  pid: number;
  rssMb: number;
  hwmMb: number;
}

export interface RssSampler {
  /** Peak resident MB per process name between `from` and `to` (ms since the epoch). */
  peaks(from: number, to: number): Record<string, number>;
  stop(): void;
}

export function startRssSampler(targets: () => { name: string; pid: number }[], intervalMs = 100): RssSampler {
  const samples: Sample[] = [];
  const sample = () => {
    const t = Date.now();
    for (const { name, pid } of targets()) {
      const m = readStatus(pid);
      if (m) samples.push({ t, name, pid, ...m });
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    peaks(from, to) {
      sample();
      const out: Record<string, number> = {};
      const within = samples.filter((s) => s.t >= from && s.t <= to);
      const byPid = new Map<number, Sample[]>();
      for (const s of within) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
      for (const list of byPid.values()) {
        const name = list[0].name;
        const before = samples.filter((s) => s.pid === list[0].pid && s.t < from).at(-1)?.hwmMb ?? 0;
        let peak = Math.max(...list.map((s) => s.rssMb));
        const hwm = list.at(-1)!.hwmMb;
        if (hwm > before) peak = Math.max(peak, hwm);
        out[name] = Math.max(out[name] ?? 0, peak);
      }
      return out;
    },
    stop: () => clearInterval(timer),
  };
}

function readStatus(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
    return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}
