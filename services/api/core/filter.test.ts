import { compileFilter, FilterError, type FilterSchema } from "./filter.js";

const schema: FilterSchema = {
  labelsColumn: "labels",
  fields: {
    name: { column: "name", type: "text" },
    generation: { column: "generation", type: "int" },
    "status.phase": { column: "phase", type: "phase" },
    "status.observed_generation": { column: "observed_generation", type: "int" },
    "status.last_updated_time": { column: "last_updated_time", type: "time" },
  },
  derived: { "generation > status.observed_generation": "reconcile_pending" },
};

describe("compileFilter: accepted expressions become parameterised SQL", () => {
  test.each([
    ["empty → true", "", "true", []],
    ["label equality uses containment (GIN index)", "labels.env = 'prod'", "labels @> ?::jsonb", ['{"env":"prod"}']],
    ["prefixed label key", "labels.app.kubernetes.io/name = 'hf'", "labels @> ?::jsonb", ['{"app.kubernetes.io/name":"hf"}']],
    ["label inequality", "labels.env != 'prod'", "(not labels @> ?::jsonb)", ['{"env":"prod"}']],
    ["and of label and phase", "labels.env='prod' and status.phase='NotReady'", "(labels @> ?::jsonb and phase = ?)", ['{"env":"prod"}', "NotReady"]],
    ["time comparison normalises to ISO", "status.last_updated_time < '2026-01-01T00:00:00Z'", "last_updated_time < ?", ["2026-01-01T00:00:00.000Z"]],
    ["column against column: generation ahead uses its stored column", "generation > status.observed_generation", "reconcile_pending", []],
    ["the same written the other way round", "status.observed_generation < generation", "reconcile_pending", []],
    ["another column comparison compiles as is", "generation >= status.observed_generation", "generation >= observed_generation", []],
    ["value on the left flips the operator", "3 < generation", "generation > ?", [3]],
    ["in list", "name in ('a', 'b')", "name in (?, ?)", ["a", "b"]],
    ["or, not, parentheses", "not (generation = 1 or status.phase = 'PHASE_READY')", "(not (generation = ? or phase = ?))", [1, "Ready"]],
    ["a quote inside a string stays a bound value", "name = 'x\\' or 1=1 --'", "name = ?", ["x' or 1=1 --"]],
    ["a label key that is a prototype property is just a key", "labels.__proto__ = 'x'", "labels @> ?::jsonb", ['{"__proto__":"x"}']],
    ["spaces only → true", "   ", "true", []],
  ])("%s", (_name, text, sql, bindings) => {
    expect(compileFilter(text, schema)).toEqual({ sql, bindings });
  });
});

describe("compileFilter: rejected expressions name the problem and its position", () => {
  test.each([
    ["unknown field", "color = 'red'", /unknown field 'color'/, 0],
    ["dangling operator", "name = ", /expected a field or a value but found end of filter/, 7],
    ["double operator", "labels.env = = 3", /found '='/, 13],
    ["integer expected", "generation = 'two'", /expected an integer/, 13],
    ["bad time", "status.last_updated_time < 'yesterday'", /RFC 3339/, 27],
    ["bad phase", "status.phase = 'Done'", /expected a phase/, 15],
    ["unterminated string", "name = 'abc", /unterminated string/, 7],
    ["stray character", "name ; drop table clusters", /unexpected character ";"/, 5],
    ["different types compared", "generation < status.last_updated_time", /different types/, 13],
    ["trailing tokens", "name = 'a' name", /unexpected 'name'/, 11],
    ["Regression guard: deep nesting threw RangeError (500)", "(".repeat(40) + "name = 'a'" + ")".repeat(40), /nesting deeper than 32/, 32],
    ["Regression guard: 20,000 nots threw RangeError (500)", "not ".repeat(20000).slice(0, 4000) + "name = 'a'", /nesting deeper than 32/, 128],
    ["an integer beyond bigint's range", "generation = 99999999999999999999", /expected an integer/, 13],
    ["a filter longer than 4096 characters", `name = '${"a".repeat(5000)}'`, /longer than 4096/, 4096],
    ["Regression guard: NUL in a string was a Postgres error (500)", "name = 'a\u0000b'", /control character U\+0000 is not allowed/, 9],
    ["a control character between tokens", "name = 'a'\nand generation = 1", /control character U\+000A/, 10],
    ["DEL", "name = '\u007f'", /control character U\+007F/, 8],
    ["Regression guard: a prototype property as a field was a 500", "constructor = 1", /unknown field 'constructor'/, 0],
    ["__proto__ as a field", "__proto__ = 1", /unknown field '__proto__'/, 0],
    ["toString as a field", "toString = 'x'", /unknown field 'toString'/, 0],
    ["hasOwnProperty in a list", "hasOwnProperty in ('a')", /unknown field 'hasOwnProperty'/, 0],
    ["Regression guard: a prototype property as a phase was a 500", "status.phase = 'constructor'", /expected a phase/, 15],
    ["__proto__ as a phase", "status.phase in ('__proto__')", /expected a phase/, 17],
    ["field against a prototype property", "generation > constructor", /unknown field 'constructor'/, 13],
    ["year 0 (Postgres has none)", "status.last_updated_time < '0000-01-01T00:00:00Z'", /RFC 3339/, 27],
    ["year 10000 after the offset", "status.last_updated_time < '9999-12-31T23:00:00-05:00'", /RFC 3339/, 27],
    ["101 comparisons", Array.from({ length: 101 }, () => "generation = 1").join(" or "), /more than 100 terms/, 100 * 18],
    ["101 'in' values", `name in (${Array.from({ length: 101 }, (_, i) => `'${i}'`).join(",")})`, /more than 100 terms/, 499],
    ["a long value is quoted short in the message", `generation = '${"x".repeat(1000)}'`, /found 'x{63}…' at position 13$/, 13],
  ])("%s", (_name, text, message, position) => {
    let err: unknown;
    try {
      compileFilter(text, schema);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FilterError);
    expect((err as FilterError).message).toMatch(message);
    expect((err as FilterError).position).toBe(position);
  });
});

describe("compileFilter: limits", () => {
  test("100 terms (comparisons and 'in' values) compile", () => {
    const text = [...Array.from({ length: 98 }, () => "generation = 1"), "name in ('a', 'b')"].join(" or ");
    expect(compileFilter(text, schema).bindings).toHaveLength(100);
  });
});
