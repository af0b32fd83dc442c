/**
 * What the Nth Ctrl-C (or SIGTERM) does to `npm start`. The first stops every service gracefully; a
 * second joins that stop and says what it is waiting for; a third kills what is left at once, for an
 * operator who will not wait for a service's shutdown deadline.
 */
export type InterruptAction = "stop" | "remind" | "kill";

export function decideInterrupt(count: number): InterruptAction {
  if (count <= 1) return "stop";
  if (count === 2) return "remind";
  return "kill";
}
