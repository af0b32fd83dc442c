/** Waits `ms`, or less if `signal` aborts first (then calls `onAbort`): a handler that outlives a short deadline. */
export function waitUnlessAborted(signal: AbortSignal, ms: number, onAbort: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (onAbort(), clearTimeout(t), resolve()), { once: true });
  });
}
