/**
 * test/e2e/compose-e2e.sh, the compose end-to-end path (issue 19), with stand-ins for docker, compose
 * and npm that record what they are asked: it works with Compose v2 (`docker compose`) and with
 * Debian's docker-compose 1.29, always with docker-compose.e2e.yml over docker-compose.yml, makes .env
 * when there is none, waits for health, and runs the seed suite against the stack with the user's
 * token and the URLs the override publishes. No Docker engine here, so nothing really starts.
 */
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let root: string;
beforeEach(() => {
  // The script cds to ../.. of itself: a copy in a scratch checkout, so .env is made there, not here.
  root = mkdtempSync(join(tmpdir(), "hf-compose-e2e-"));
  mkdirSync(join(root, "test/e2e"), { recursive: true });
  copyFileSync("test/e2e/compose-e2e.sh", join(root, "test/e2e/compose-e2e.sh"));
  chmodSync(join(root, "test/e2e/compose-e2e.sh"), 0o755);
  mkdirSync(join(root, "bin"));
  // A compose stand-in: logs its arguments; `ps -q X` names a container, `exec` prints the token.
  const compose = `#!/bin/sh
echo "compose $*" >> "${root}/calls"
for a in "$@"; do last="$a"; done
case "$*" in
  *" ps -q "*) echo "container-$last" ;;
  *" exec -T credentials cat /issuer/tokens/user.token") echo "user-token-1" ;;
esac
exit 0
`;
  // docker: "compose version" succeeds only with STUB_COMPOSE_V2=1; "compose ..." is the stand-in; inspect says healthy.
  const docker = `#!/bin/sh
echo "docker $*" >> "${root}/calls"
if [ "$1" = compose ]; then
  [ "$2" = version ] && { [ "$STUB_COMPOSE_V2" = 1 ] && exit 0 || exit 1; }
  shift; exec "${root}/bin/docker-compose-v2" "$@"
fi
if [ "$1" = inspect ]; then
  for a in "$@"; do last="$a"; done
  [ "$last" = "container-$STUB_UNHEALTHY" ] && echo starting || echo healthy
fi
exit 0
`;
  // npm: records the environment the suite would get.
  const npm = `#!/bin/sh
echo "npm $*" >> "${root}/calls"
env | grep -E '^(HF_E2E_|PUBSUB_EMULATOR_HOST=)' | sort > "${root}/npm-env"
exit \${STUB_NPM_EXIT:-0}
`;
  writeFileSync(join(root, "bin/docker"), docker, { mode: 0o755 });
  writeFileSync(join(root, "bin/docker-compose-v2"), compose, { mode: 0o755 });
  writeFileSync(join(root, "bin/npm"), npm, { mode: 0o755 });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function script(env: Record<string, string>, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(root, "test/e2e/compose-e2e.sh"), args, { env: { PATH: `${join(root, "bin")}:/usr/bin:/bin`, USER: "tester", HOME: root, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const calls = () => readFileSync(join(root, "calls"), "utf8").trim().split("\n");

test("Debian's docker-compose 1.29 (no `docker compose`): both files, .env made, health awaited, the seed suite run against the stack", async () => {
  // docker-compose is on PATH only in this case.
  copyFileSync(join(root, "bin/docker-compose-v2"), join(root, "bin/docker-compose"));
  chmodSync(join(root, "bin/docker-compose"), 0o755);
  const { code, stdout } = await script({});
  expect(code).toBe(0);
  const c = calls();
  expect(c).toContain("docker compose version");
  expect(c).toContain("compose -f docker-compose.yml -f docker-compose.e2e.yml up -d --build");
  for (const service of ["credentials", "api", "kube", "sentinel"]) {
    expect(c).toContain(`compose -f docker-compose.yml -f docker-compose.e2e.yml ps -q ${service}`);
    expect(c.some((l) => l.startsWith("docker inspect") && l.endsWith(`container-${service}`))).toBe(true);
  }
  expect(c).toContain("npm test -- test/e2e/seed-happy-path");
  expect(c).not.toContain("compose -f docker-compose.yml -f docker-compose.e2e.yml down");
  expect(stdout).toMatch(/still up/);
  // The compose calls went to docker-compose, not `docker compose`.
  expect(c.filter((l) => l.startsWith("docker compose ") && l !== "docker compose version")).toEqual([]);
  expect(readFileSync(join(root, "npm-env"), "utf8").trim().split("\n")).toEqual([
    "HF_E2E_API_URL=http://127.0.0.1:8000",
    "HF_E2E_KUBE_PORT=8080",
    "HF_E2E_KUBE_URL=http://127.0.0.1:8080",
    "HF_E2E_MAX_AGE_READY_MS=8000",
    "HF_E2E_PUBSUB_PORT=8085",
    "HF_E2E_TOKEN=user-token-1",
    "PUBSUB_EMULATOR_HOST=127.0.0.1:8085",
  ]);
  const dotenv = readFileSync(join(root, ".env"), "utf8");
  expect(dotenv).toMatch(/^POSTGRES_PASSWORD=[0-9a-f]{48}\nHYPERFLEET_USER=user:tester\n$/);
});

test("Compose v2 when `docker compose` works; other ports for the stand-in and the emulator; --down stops the stack; an existing .env is kept", async () => {
  writeFileSync(join(root, ".env"), "POSTGRES_PASSWORD=mine\n");
  const { code } = await script({ STUB_COMPOSE_V2: "1", HF_E2E_KUBE_PORT: "18080", HF_E2E_PUBSUB_PORT: "18085" }, ["--down"]);
  expect(code).toBe(0);
  const c = calls();
  expect(c).toContain("docker compose -f docker-compose.yml -f docker-compose.e2e.yml up -d --build");
  expect(c).toContain("docker compose -f docker-compose.yml -f docker-compose.e2e.yml down");
  expect(existsSync(join(root, "bin/docker-compose"))).toBe(false);
  expect(readFileSync(join(root, "npm-env"), "utf8")).toMatch(/HF_E2E_KUBE_URL=http:\/\/127\.0\.0\.1:18080\n[\s\S]*PUBSUB_EMULATOR_HOST=127\.0\.0\.1:18085/);
  expect(readFileSync(join(root, ".env"), "utf8")).toBe("POSTGRES_PASSWORD=mine\n");
});

test("a failing suite fails the script (with the services' logs); a service that never turns healthy stops it before the suite", async () => {
  const failed = await script({ STUB_COMPOSE_V2: "1", STUB_NPM_EXIT: "3" });
  expect(failed.code).toBe(3);
  expect(calls().some((l) => / logs --tail=60 sentinel/.test(l))).toBe(true);

  rmSync(join(root, "calls"));
  const unhealthy = await script({ STUB_COMPOSE_V2: "1", STUB_UNHEALTHY: "api", HF_E2E_WAIT_SECONDS: "0" });
  expect(unhealthy.code).toBe(1);
  expect(unhealthy.stderr).toMatch(/api is not healthy \(starting\)/);
  expect(calls().some((l) => l.startsWith("npm "))).toBe(false);
});

test("neither compose command: says what to install", async () => {
  // A PATH without the machine's /usr/bin/docker-compose: only the stand-ins, bash and dirname.
  mkdirSync(join(root, "sys"));
  for (const tool of ["bash", "dirname"]) symlinkSync(`/usr/bin/${tool}`, join(root, "sys", tool));
  const { code, stderr } = await script({ PATH: `${join(root, "bin")}:${join(root, "sys")}` });
  expect(code).toBe(1);
  expect(stderr).toMatch(/neither 'docker compose' nor 'docker-compose' is installed \(Debian: apt-get install docker-compose\)/);
});
