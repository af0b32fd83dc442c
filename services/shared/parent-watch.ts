/**
 * The parent this process was started by, read when this module loads rather than when the watch
 * starts: a service's main starts it only once it is up, and a parent that died while the service was
 * starting (waiting on a broker, migrating) would otherwise be taken for the init that adopted it.
 */
const startedBy = process.ppid;

/** True once the process that started this one has gone (this one was adopted). */
export function parentGone(): boolean {
  return process.ppid !== startedBy;
}

/**
 * Calls `onOrphaned` once if this process's parent goes away (its ppid changes), so services started
 * by `npm start` or a test harness never outlive it even when it is killed with SIGKILL, which gives it
 * no chance to stop them. A process whose parent never changes (a container's PID 1, a systemd unit)
 * is unaffected. A parent already gone when the watch starts is noticed on the next turn of the loop.
 */
export function watchParent(onOrphaned: () => void, intervalMs = 1000): () => void {
  let done = false;
  const check = () => {
    if (done || !parentGone()) return;
    stop();
    onOrphaned();
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  const first = setImmediate(check);
  first.unref();
  function stop() {
    done = true;
    clearInterval(timer);
    clearImmediate(first);
  }
  return stop;
}
