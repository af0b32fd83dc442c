/**
 * Calls `onOrphaned` once if this process's parent goes away (its ppid changes), so services started
 * by `npm start` or a test harness never outlive it even when it is killed with SIGKILL. A process
 * whose parent never changes (a container's PID 1, a systemd unit) is unaffected.
 */
export function watchParent(onOrphaned: () => void, intervalMs = 1000): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onOrphaned();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
