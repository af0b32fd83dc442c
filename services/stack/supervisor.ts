import { DEFAULT_RESTART_POLICY, decideRestart, type RestartPolicy } from "./core/decide-restart.js";
import { describeExit, isRunningProcess, startProcess, stopProcess, waitForPort, type ExitStatus, type ProcessSpec, type RunningProcess, type StartOptions } from "./processes.js";

/**
 * Keeps `npm start`'s services running: a service that exits on its own is started again after a
 * backoff (decideRestart), so an operator can kill -9 one adapter and watch it come back, and one
 * crash does not take the fleet down. The stack stops only when told to, or when a service crash-loops.
 */
export interface Supervisor {
  /** Starts a service; resolves once it listens, rejects if it exits first (the stack then stops). */
  start(spec: ProcessSpec): Promise<void>;
  /** No more restarts; SIGTERM to every service, SIGKILL to any still running after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** No more restarts; SIGKILL to every service, now. */
  kill(): void;
  /** The services running now. */
  running(): string[];
  /** "kube 101, api 102, ...": each service's pid, for an operator who wants to kill one. */
  pids(): string;
}

export interface SupervisorOptions {
  start: StartOptions;
  policy?: RestartPolicy;
  /** Prints one line of the stack's own output. */
  say: (line: string) => void;
  /** A service gave up (crash loop, or it never became ready): the stack stops. Called once. */
  onGiveUp: () => void;
  now?: () => number;
}

interface Service {
  spec: ProcessSpec;
  index: number;
  proc: RunningProcess;
  everReady: boolean;
  crashes: number[];
  restarts: number;
  restartTimer?: NodeJS.Timeout;
}

export function createSupervisor(opts: SupervisorOptions): Supervisor {
  const policy = opts.policy ?? DEFAULT_RESTART_POLICY;
  const now = opts.now ?? Date.now;
  const services: Service[] = [];
  let stopping = false;

  const restartCounts = () => {
    const restarted = services.filter((s) => s.restarts > 0);
    return restarted.length ? `restarts: ${restarted.map((s) => `${s.spec.name} ${s.restarts}`).join(", ")}` : "no restarts";
  };

  /** Watches the service's current process: resolves once it listens. */
  function attach(svc: Service): Promise<void> {
    const proc = svc.proc;
    void proc.exited.then((exit) => onExit(svc, proc, exit));
    return waitForPort(svc.spec.readyPort, proc).then(() => {
      svc.everReady = true;
    });
  }

  function onExit(svc: Service, proc: RunningProcess, exit: ExitStatus): void {
    if (stopping || svc.proc !== proc) return;
    const { name } = svc.spec;
    const decision = decideRestart({ earlierCrashes: svc.crashes, now: now(), everReady: svc.everReady }, policy);
    svc.crashes = decision.recentCrashes;
    if (decision.action === "give-up") {
      opts.say(
        decision.reason === "never-ready"
          ? `${name} exited (${describeExit(exit)}) before it was ready; stopping the stack`
          : `${name} crashed ${decision.recentCrashes.length} times within ${policy.windowMs / 1000} s (last: ${describeExit(exit)}); it is crash-looping, stopping the stack`,
      );
      opts.onGiveUp();
      return;
    }
    svc.restarts++;
    opts.say(
      `${name} exited (${describeExit(exit)}); restarting it in ${decision.delayMs / 1000} s ` +
        `(restart ${svc.restarts}; ${decision.recentCrashes.length} of ${policy.maxCrashes} crashes within ${policy.windowMs / 1000} s stop the stack)`,
    );
    svc.restartTimer = setTimeout(() => {
      svc.restartTimer = undefined;
      if (stopping) return;
      const proc = (svc.proc = startProcess(svc.spec, svc.index, opts.start));
      opts.say(`${name} restarted (pid ${proc.child.pid})`);
      attach(svc).then(
        () => opts.say(`${name} is back (pid ${proc.child.pid}); ${restartCounts()}`),
        (err: Error) => {
          // An exit is onExit's to count; a service that runs but never listens is only reported.
          if (isRunningProcess(proc) && !stopping) opts.say(`${name}: ${err.message}`);
        },
      );
    }, decision.delayMs);
  }

  const halt = () => {
    stopping = true;
    for (const svc of services) clearTimeout(svc.restartTimer);
  };

  return {
    start(spec) {
      if (stopping) return Promise.reject(new Error("the stack is stopping"));
      const index = services.length;
      const svc: Service = { spec, index, proc: startProcess(spec, index, opts.start), everReady: false, crashes: [], restarts: 0 };
      services.push(svc);
      return attach(svc);
    },
    async stop(graceMs = 10_000) {
      halt();
      await Promise.all(services.filter((svc) => !svc.spec.stopLast).map((svc) => stopProcess(svc.proc, graceMs)));
      await Promise.all(services.filter((svc) => svc.spec.stopLast).map((svc) => stopProcess(svc.proc, graceMs)));
    },
    kill() {
      halt();
      for (const svc of services) if (isRunningProcess(svc.proc)) svc.proc.child.kill("SIGKILL");
    },
    running: () => services.filter((svc) => isRunningProcess(svc.proc)).map((svc) => svc.spec.name),
    pids: () => services.map((svc) => `${svc.spec.name} ${svc.proc.child.pid}`).join(", "),
  };
}
