/**
 * The mutations the hostile generator applies, each to a request being built (a Draft): from the
 * transport (content type, timeout, compression, envelope, HTTP method) down to single field values.
 * Pure: every choice comes from the SeededRandom passed in.
 */
import { gzipSync } from "node:zlib";
import { create, toBinary, toJson, ScalarType, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import type { SeededRandom } from "../support/seeded-random.js";
import type { Protocol } from "./outcome.js";
import { envelope } from "./wire.js";
import { deepJson, deepStruct, lenField, tag, varint, varintField, WIRE } from "./proto-bytes.js";
import * as bad from "./hostile-values.js";

export const MUTATIONS = [
  "random-bytes",
  "truncated",
  "wrong-type",
  "huge-string",
  "deep-nesting",
  "bad-enum",
  "bad-uuid",
  "unknown-method",
  "bad-content-type",
  "bad-timeout",
  "bad-compression",
  "bad-envelope",
  "bad-filter",
  "bad-timestamp",
  "bad-int64",
  "many-violations",
  "bad-field-mask",
  "bad-http-method",
  "unknown-fields",
  "nul-and-unicode",
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** A request being built: the message as an init object (or JSON, or raw payload bytes) and the transport around it. */
export interface Draft {
  protocol: Protocol;
  method: DescMethod;
  init: Record<string, unknown>;
  /** JSON text replacing the encoded message (JSON protocols). */
  json?: string;
  /** Message bytes replacing the encoded message (binary protocols), still enveloped for gRPC. */
  payload?: Uint8Array;
  /** The whole body, as sent. */
  body?: Uint8Array;
  headers: Record<string, string>;
  httpMethod: string;
  path: string;
}

const isJson = (d: Draft) => d.protocol === "connect-json";
const enveloped = (d: Draft) => d.protocol === "grpc" || d.protocol === "grpc-web";
const fieldNamed = (m: DescMessage, ...names: string[]) => m.fields.find((f) => names.includes(f.name));
export const structField = (m: DescMessage) => m.fields.find((f) => f.message?.typeName === "google.protobuf.Struct");
const stringFields = (m: DescMessage) => m.fields.filter((f) => f.fieldKind === "scalar" && f.scalar === ScalarType.STRING);

/** Whether a mutation has something to act on in the method's request. */
export function applies(mutation: Mutation, m: DescMethod): boolean {
  const input = m.input;
  switch (mutation) {
    case "deep-nesting":
      return structField(input) !== undefined;
    case "bad-enum":
      return fieldNamed(input, "view", "conditions") !== undefined;
    case "bad-uuid":
      return fieldNamed(input, "id", "cluster_id", "resource_id") !== undefined;
    case "bad-filter":
      return fieldNamed(input, "filter") !== undefined;
    case "bad-timestamp":
      return fieldNamed(input, "observed_time") !== undefined;
    case "bad-int64":
      return fieldNamed(input, "observed_generation", "page_size") !== undefined;
    case "many-violations":
      return fieldNamed(input, "labels", "conditions") !== undefined;
    case "bad-field-mask":
      return fieldNamed(input, "update_mask") !== undefined;
    case "huge-string":
    case "nul-and-unicode":
      return stringFields(input).length > 0;
    default:
      return true;
  }
}

export function encode(d: Draft): Uint8Array {
  if (isJson(d)) return Buffer.from(d.json ?? JSON.stringify(jsonOf(d)), "utf8");
  const payload = d.payload ?? toBinary(d.method.input, create(d.method.input, d.init as never));
  return enveloped(d) ? envelope(payload) : payload;
}

function jsonOf(d: Draft): Record<string, unknown> {
  return toJson(d.method.input, create(d.method.input, d.init as never)) as Record<string, unknown>;
}

/** Sets one field of the JSON form and returns the JSON text (a placeholder string stands for raw JSON text). */
function jsonWith(d: Draft, field: DescField, value: unknown, raw?: string): string {
  const text = JSON.stringify({ ...jsonOf(d), [field.jsonName]: raw === undefined ? value : "@@RAW@@" });
  return raw === undefined ? text : text.replace('"@@RAW@@"', raw);
}

/** The binary message with one field replaced by `bytes` (written after the others: the last occurrence wins). */
function binaryWith(d: Draft, field: DescField, bytes: Buffer): Buffer {
  const rest = { ...d.init };
  delete rest[field.localName];
  return Buffer.concat([toBinary(d.method.input, create(d.method.input, rest as never)), bytes]);
}

export function mutate(random: SeededRandom, mutation: Mutation, d: Draft): void {
  const input = d.method.input;
  switch (mutation) {
    case "random-bytes": {
      const bytes = Buffer.from(Array.from({ length: random.int(0, 2048) }, () => random.int(0, 256)));
      d.body = enveloped(d) && random.next() < 0.5 ? envelope(bytes) : bytes;
      return;
    }
    case "truncated": {
      const full = isJson(d) ? Buffer.from(JSON.stringify(jsonOf(d))) : Buffer.from(toBinary(input, create(input, d.init as never)));
      const cut = full.subarray(0, random.int(0, Math.max(1, full.length)));
      // gRPC: either the envelope still claims the whole message, or it frames the cut bytes.
      d.body = enveloped(d) ? (random.next() < 0.5 ? envelope(full).subarray(0, 5 + cut.length) : envelope(cut)) : cut;
      return;
    }
    case "wrong-type": {
      const f = random.pick(input.fields);
      if (isJson(d)) d.json = jsonWith(d, f, random.pick(bad.WRONG_JSON_TYPES));
      // Binary: the field number with another wire type than its own.
      else d.payload = binaryWith(d, f, f.fieldKind === "scalar" && f.scalar !== ScalarType.STRING ? lenField(f.number, "x") : Buffer.concat([tag(f.number, random.pick([WIRE.varint, WIRE.fixed32, WIRE.fixed64])), varint(random.int(0, 1 << 30)), Buffer.alloc(8)]));
      return;
    }
    case "huge-string": {
      const f = random.pick(stringFields(input));
      const char = random.pick(["a", "é", "-", "'"]);
      const bytes = weighted(random, [[70_000, 4], [300_000, 3], [1_100_000, 2], [4_300_000, 1]]);
      d.init[f.localName] = char.repeat(Math.floor(bytes / Buffer.byteLength(char)));
      return;
    }
    case "deep-nesting": {
      const f = structField(input)!;
      const depth = weighted(random, [[33, 2], [64, 3], [100, 3], [500, 2], [3000, 1]]);
      const through = random.next() < 0.7 ? "struct" : "list";
      if (isJson(d)) d.json = jsonWith(d, f, undefined, `{"a":${deepJson(depth, through)}}`);
      else d.payload = binaryWith(d, f, lenField(f.number, deepStruct(depth, through)));
      return;
    }
    case "bad-enum": {
      const conditions = fieldNamed(input, "conditions");
      if (conditions) {
        const status = random.pick([99, -1, 2 ** 31 - 1]);
        const conds = (d.init[conditions.localName] as { status: number }[]).map((c, i) => (i === 0 ? { ...c, status } : c));
        if (isJson(d)) d.json = jsonWith(d, conditions, undefined, JSON.stringify(conds.map((c, i) => ({ ...c, status: i === 0 ? random.pick(bad.BAD_JSON_ENUMS) : c.status }))));
        else d.init[conditions.localName] = conds;
      } else {
        const view = fieldNamed(input, "view")!;
        if (isJson(d)) d.json = jsonWith(d, view, random.pick(bad.BAD_JSON_ENUMS));
        else d.payload = binaryWith(d, view, varintField(view.number, random.pick([99, -1, 2 ** 31 - 1, 3])));
      }
      return;
    }
    case "bad-uuid":
      d.init[fieldNamed(input, "id", "cluster_id", "resource_id")!.localName] = random.pick(bad.BAD_IDS);
      return;
    case "unknown-method":
      d.path = random.pick(bad.UNKNOWN_PATHS);
      return;
    case "bad-content-type": {
      const type = random.pick(bad.BAD_CONTENT_TYPES);
      if (type === "") delete d.headers["content-type"];
      else d.headers["content-type"] = type;
      return;
    }
    case "bad-timeout": {
      const grpcHeader = enveloped(d) !== random.next() < 0.2;
      if (grpcHeader) d.headers["grpc-timeout"] = random.pick(bad.BAD_GRPC_TIMEOUTS);
      else d.headers["connect-timeout-ms"] = random.pick(bad.BAD_CONNECT_TIMEOUTS);
      return;
    }
    case "bad-compression":
      compression(random, d);
      return;
    case "bad-envelope":
      d.body = badEnvelope(random, Buffer.from(toBinary(input, create(input, d.init as never))));
      return;
    case "bad-filter": {
      const token = fieldNamed(input, "page_token");
      if (token && random.next() < 0.25) d.init[token.localName] = random.pick(bad.BAD_PAGE_TOKENS);
      else d.init[fieldNamed(input, "filter")!.localName] = random.pick(bad.BAD_FILTERS);
      return;
    }
    case "bad-timestamp": {
      const f = fieldNamed(input, "observed_time")!;
      if (isJson(d)) d.json = jsonWith(d, f, random.pick(bad.BAD_JSON_TIMESTAMPS));
      else {
        const [seconds, nanos] = random.pick(bad.BAD_BINARY_TIMESTAMPS);
        d.payload = binaryWith(d, f, lenField(f.number, Buffer.concat([varintField(1, seconds), varintField(2, nanos)])));
      }
      return;
    }
    case "bad-int64": {
      const f = fieldNamed(input, "observed_generation", "page_size")!;
      if (isJson(d)) d.json = jsonWith(d, f, random.pick(bad.BAD_JSON_INT64));
      // Varints of 10 and 11 bytes: the largest legal one, and one too long.
      else d.payload = binaryWith(d, f, random.next() < 0.5 ? varintField(f.number, -1n) : Buffer.concat([tag(f.number, WIRE.varint), Buffer.alloc(10, 0xff), Buffer.from([0x01])]));
      return;
    }
    case "many-violations": {
      const n = weighted(random, [[151, 3], [1000, 2], [5000, 1]]);
      const labels = fieldNamed(input, "labels");
      if (labels) d.init[labels.localName] = Object.fromEntries(Array.from({ length: n }, (_, i) => [`-bad key ${i}`, "!"]));
      else d.init[fieldNamed(input, "conditions")!.localName] = Array.from({ length: n }, () => ({ type: "", status: 0, reason: "", message: "" }));
      return;
    }
    case "bad-field-mask": {
      const f = fieldNamed(input, "update_mask")!;
      const paths = random.next() < 0.2 ? Array.from({ length: 5000 }, () => "labels") : [random.pick(bad.BAD_MASK_PATHS)];
      if (isJson(d)) d.json = jsonWith(d, f, random.next() < 0.3 ? random.pick([paths, 5, {}, "labels,,spec"]) : paths.join(","));
      else d.init[f.localName] = { paths };
      return;
    }
    case "bad-http-method":
      d.httpMethod = random.pick(bad.BAD_HTTP_METHODS);
      return;
    case "unknown-fields":
      if (isJson(d)) d.json = JSON.stringify({ ...jsonOf(d), [random.pick(["foo", "__proto__", "constructor", "prototype", "spec.x", ""])]: random.pick<unknown>([1, { polluted: true }, "x"]) });
      // Binary: an unknown field of 1 MiB, or a group that never ends.
      else d.payload = Buffer.concat([toBinary(input, create(input, d.init as never)), random.next() < 0.5 ? lenField(999, Buffer.alloc(1 << 20, 0x61)) : tag(998, WIRE.startGroup)]);
      return;
    case "nul-and-unicode": {
      const f = random.pick(stringFields(input));
      const text = random.pick(["a\u0000b", "\u0000", "\ud800", "\udfff\ud800", "\u202e\u0000", "\uffff", "😀\u0000"]);
      if (isJson(d) && random.next() < 0.5) d.json = jsonWith(d, f, undefined, random.pick(['"\\ud800"', '"\\u0000"', '"a\\u0000b"', '"\\uDFFF"']));
      else if (!isJson(d) && random.next() < 0.5) d.payload = binaryWith(d, f, lenField(f.number, Buffer.from([0x61, 0xff, 0xfe, 0xc0, 0x80])));
      else d.init[f.localName] = text;
      return;
    }
  }
}

function compression(random: SeededRandom, d: Draft): void {
  const message = isJson(d) ? Buffer.from(JSON.stringify(jsonOf(d))) : Buffer.from(toBinary(d.method.input, create(d.method.input, d.init as never)));
  const encoding = random.pick(bad.BAD_ENCODINGS);
  const content = random.pick(["garbage", "bomb", "plain"] as const);
  const bytes = content === "garbage" ? Buffer.from(Array.from({ length: 64 }, () => random.int(0, 256))) : content === "bomb" ? gzipBomb() : message;
  if (enveloped(d)) {
    d.headers["grpc-encoding"] = encoding;
    d.body = envelope(bytes, random.next() < 0.8 ? 1 : 0);
  } else {
    d.headers["content-encoding"] = encoding;
    d.body = bytes;
  }
}

function badEnvelope(random: SeededRandom, message: Buffer): Buffer {
  const framed = envelope(message);
  switch (random.int(0, 7)) {
    case 0:
      return Buffer.concat([framed.subarray(0, 1), Buffer.from([0xff, 0xff, 0xff, 0xff]), message]);
    case 1:
      return Buffer.concat([framed, framed]);
    case 2:
      return envelope(message, 0x80);
    case 3:
      return envelope(message, 0x02);
    case 4:
      return framed.subarray(0, 4);
    case 5:
      return Buffer.concat([framed, Buffer.from([0, 0, 0])]);
    default:
      return Buffer.concat([framed.subarray(0, 1), Buffer.from([0x00, 0x40, 0x00, 0x01]), message]);
  }
}

let bomb: Buffer | undefined;
/** 64 MiB of zeros, gzipped to about 64 KiB: decompressing it whole would cost the server the 64 MiB. */
function gzipBomb(): Buffer {
  bomb ??= gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  return bomb;
}

/** One of `options`, drawn with the given weights. */
export function weighted<T>(random: SeededRandom, options: readonly (readonly [T, number])[]): T {
  let at = random.next() * options.reduce((n, [, w]) => n + w, 0);
  for (const [value, w] of options) {
    at -= w;
    if (at < 0) return value;
  }
  return options[options.length - 1][0];
}

