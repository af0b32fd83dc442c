import { readFileSync } from "node:fs";
import type { JsonObject } from "@bufbuild/protobuf";
import { UsageError } from "../cli-context.js";

/** `--label k=v` values as a map; a flag without `=` is a usage error. */
export function parseLabels(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const i = v.indexOf("=");
    if (i <= 0) throw new UsageError(`--label ${JSON.stringify(v)}: expected key=value`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** `--spec '{"a":1}'` or `--spec @file.json`: a JSON object. */
export function parseSpec(value: string | undefined): JsonObject | undefined {
  if (value === undefined) return undefined;
  let text = value;
  if (value.startsWith("@")) {
    try {
      text = readFileSync(value.slice(1), "utf8");
    } catch (err) {
      throw new UsageError(`--spec ${value}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--spec: not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new UsageError("--spec: must be a JSON object");
  return parsed as JsonObject;
}
