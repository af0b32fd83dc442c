import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { stringify } from "yaml";
import type { ApiClient } from "../shared/api-client.js";
import { renderTable, type Cell, type Column } from "./render/table.js";

/** Bad flags or arguments: printed with usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type OutputFormat = "table" | "json" | "yaml";

/** What every command gets: the API, where to write, and how. */
export interface CliContext {
  api: ApiClient;
  output: OutputFormat;
  color: boolean;
  out: (text: string) => void;
  /** Diagnostics that are not the command's output (stderr): e.g. hf watch reconnecting. */
  err: (text: string) => void;
  now: () => Date;
  /** Resolves after `ms` unless interrupted (watch). */
  sleep: (ms: number) => Promise<boolean>;
  /** Aborts on interruption (Ctrl-C): long-running commands stop their calls with it. */
  signal?: AbortSignal;
  isTTY: boolean;
}

/** Prints messages as JSON/YAML (proto JSON names) or as a table. */
export function print<D extends DescMessage>(ctx: CliContext, desc: D, items: MessageShape<D>[], table: () => { columns: Column[]; rows: Cell[][] }, single = false): void {
  if (ctx.output === "table") {
    const t = table();
    ctx.out(renderTable(t.columns, t.rows, { color: ctx.color }));
    return;
  }
  const json = items.map((m) => toJson(desc, m, { alwaysEmitImplicit: false }));
  const value = single ? json[0] : json;
  ctx.out(ctx.output === "json" ? JSON.stringify(value, null, 2) : stringify(value).trimEnd());
}
