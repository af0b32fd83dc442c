/**
 * jest's node environment, plus the skips requirements.ts describes: a file whose first comment says
 * `@requires NAME ...` is skipped whole when the run lacks one of them, and a describe block whose title
 * names a missing broker (`pubsub`, `rabbitmq`) is skipped, hooks included. The run's missing things come
 * from HYPERFLEET_TEST_MISSING (test-services.ts); with none missing (CI) nothing is skipped.
 * Self-contained: jest loads the environment outside the module mapping that lets suites import
 * `./requirements.js` as TypeScript.
 */
import type { EnvironmentContext, JestEnvironmentConfig } from "@jest/environment";
import type { Circus } from "@jest/types";
import { TestEnvironment as NodeEnvironment } from "jest-environment-node";

const BROKERS = ["pubsub", "rabbitmq"];

function names(value: string | string[] | undefined): string[] {
  return (Array.isArray(value) ? value : [value ?? ""]).flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
}

export default class RequirementsEnvironment extends NodeEnvironment {
  private readonly missing: Set<string>;
  private readonly fileLacks: string[];

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.missing = new Set(names(process.env.HYPERFLEET_TEST_MISSING));
    const required = names(context.docblockPragmas.requires);
    const known = names(process.env.HYPERFLEET_TEST_CHECKED);
    const unknown = required.filter((n) => known.length > 0 && !known.includes(n));
    if (unknown.length) throw new Error(`${context.testPath}: @requires ${unknown.join(" ")}: not a requirement test/support/requirements.ts knows (${known.join(", ")})`);
    this.fileLacks = required.filter((n) => this.missing.has(n));
  }

  async handleTestEvent(event: Circus.AsyncEvent, _state: Circus.State): Promise<void> {
    if (event.name !== "run_describe_start" || this.missing.size === 0) return;
    const block = event.describeBlock;
    // The root block (its parent undefined) stands for the file.
    const lacks = block.parent === undefined ? this.fileLacks : BROKERS.filter((b) => this.missing.has(b) && new RegExp(`\\b${b}\\b`).test(block.name));
    if (lacks.length > 0) block.mode = "skip";
  }
}
