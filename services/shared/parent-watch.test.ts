import { spawn } from "node:child_process";
import { isRunning, waitUntil } from "../stack/process-table.js";
import { watchChild } from "../../test/support/child-process.js";

/**
 * A grandchild that starts watching its parent `startWatchAfterMs` after it loaded, and says so when
 * orphaned; its parent only spawns it and prints its pid. Both are SIGKILLed by the tests, never asked.
 */
function startFamily(startWatchAfterMs: number) {
  const grandchild = `
    import { watchParent } from "./services/shared/parent-watch.ts";
    console.log("loaded");
    setTimeout(() => watchParent(() => { console.log("orphaned"); process.exit(0); }, 100), Number(process.argv[1]));
    setInterval(() => undefined, 1000);`;
  const parent = `
    const { spawn } = require("node:child_process");
    const c = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", process.argv[1], process.argv[2]], { stdio: ["ignore", "inherit", "inherit"] });
    console.log("grandchild pid " + c.pid);
    setInterval(() => undefined, 1000);`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ["-e", parent, grandchild, String(startWatchAfterMs)], { env, stdio: ["ignore", "pipe", "pipe"] });
  return watchChild(child);
}

let grandchildren: number[] = [];
afterEach(() => {
  for (const pid of grandchildren) if (isRunning(pid)) process.kill(pid, "SIGKILL");
  grandchildren = [];
});

test.each([
  ["watching when its parent is SIGKILLed", 0],
  ["its parent SIGKILLed before the watch started (while the service was starting)", 3000],
])("a process notices its parent is gone: %s", async (_, startWatchAfterMs) => {
  const family = startFamily(startWatchAfterMs);
  const pid = Number((await family.waitFor(/grandchild pid (\d+)/, 30_000))[1]);
  grandchildren.push(pid);
  await family.waitFor(/loaded/, 30_000);
  family.child.kill("SIGKILL");
  await family.waitFor(/orphaned/, startWatchAfterMs + 10_000);
  expect(await waitUntil(() => !isRunning(pid), 10_000)).toBe(true);
}, 60_000);
