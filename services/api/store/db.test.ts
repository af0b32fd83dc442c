/** queryPrepared: prepared once per connection on Postgres; never on PGlite, whose one session outlives a connection. */
import pg from "pg";
import { classifyDbError, createDb, queryPrepared, translateDbError, type DbFault } from "./db.js";
import { UnavailableError } from "../core/domain-errors.js";
import { startEmbeddedPostgres } from "./embedded-postgres.js";
import { openDatabase } from "../database.js";
import { loadConfig } from "../config.js";
import { silentLogger } from "../../shared/log.js";
import { createTempDatabase } from "../../../test/support/temp-database.js";

test("our connections read int8 as numbers and timestamptz as Dates (through knex and prepared); pg's global parsers stay as they were", async () => {
  const temp = await createTempDatabase();
  const db = createDb({ url: temp.url });
  try {
    const sql = "select 9007199254740991::int8 as big, '2026-01-01T10:00:00.123456+02'::timestamptz as t, 'infinity'::timestamptz as inf";
    const want = { big: 9_007_199_254_740_991, t: new Date("2026-01-01T08:00:00.123Z"), inf: Infinity };
    expect((await db.raw(sql)).rows).toEqual([want]);
    expect((await queryPrepared(db, "types-probe", sql, [])).rows).toEqual([want]);
    expect(pg.types.getTypeParser(pg.types.builtins.INT8, "text")("5")).toBe("5");
  } finally {
    await db.destroy();
    await temp.drop();
  }
});

test("embedded (PGlite): a new connection to the same session runs the same named statement (it would find the name taken if prepared)", async () => {
  const embedded = await startEmbeddedPostgres("memory");
  try {
    for (const n of [1, 2]) {
      const db = createDb({ url: embedded.url, poolMax: 1, preparedStatements: false });
      expect((await queryPrepared(db, "probe", "select $1::int as n", [n])).rows).toEqual([{ n }]);
      await db.destroy();
    }
    // What the option prevents:
    const a = createDb({ url: embedded.url, poolMax: 1 });
    await queryPrepared(a, "taken", "select 1 as n", []);
    await a.destroy();
    const b = createDb({ url: embedded.url, poolMax: 1 });
    await expect(queryPrepared(b, "taken", "select 1 as n", [])).rejects.toThrow(/already exists/);
    await b.destroy();
  } finally {
    await embedded.stop();
  }
});

test("the API never prepares on its embedded database, whatever DB_PREPARED_STATEMENTS says", async () => {
  const config = loadConfig({ AUTH: "none", HYPERFLEET_DATA_DIR: "memory", DB_PREPARED_STATEMENTS: "true" });
  const { db, embedded } = await openDatabase(config, silentLogger());
  try {
    await queryPrepared(db, "api-probe", "select 1 as n", []);
    // The pool replaces a connection that went away (as it does an idle one): the same PGlite session.
    const conn = (await db.client.acquireConnection()) as { end(): Promise<void> };
    await db.client.releaseConnection(conn);
    await conn.end();
    expect((await queryPrepared(db, "api-probe", "select 1 as n", [])).rows).toEqual([{ n: 1 }]);
    await db.destroy();
  } finally {
    await embedded?.stop();
  }
});

test("DB_PREPARED_STATEMENTS must be true or false", () => {
  expect(loadConfig({ AUTH: "none" }).dbPreparedStatements).toBe(true);
  expect(loadConfig({ AUTH: "none", DB_PREPARED_STATEMENTS: "false" }).dbPreparedStatements).toBe(false);
  expect(() => loadConfig({ AUTH: "none", DB_PREPARED_STATEMENTS: "maybe" })).toThrow(/DB_PREPARED_STATEMENTS/);
});

/** An error with these own properties, the way pg, Node and knex build theirs. */
const err = (message: string, props: Record<string, unknown> = {}) => Object.assign(new Error(message), props);

test.each<[string, unknown, DbFault]>([
  // Not reachable now: the connection cannot be made or kept.
  ["connect timeout (pg's 'timeout expired')", err("timeout expired"), "unreachable"],
  ["pg-pool's acquire timeout", err("timeout exceeded when trying to connect"), "unreachable"],
  ["pg-pool's connect timeout, with its cause", err("Connection terminated due to connection timeout", { cause: err("Connection terminated unexpectedly") }), "unreachable"],
  ["the server closed the connection", err("Connection terminated unexpectedly"), "unreachable"],
  ["a query on a client that lost its connection", err("Client has encountered a connection error and is not queryable"), "unreachable"],
  ["ECONNREFUSED", err("connect ECONNREFUSED 127.0.0.1:5432", { code: "ECONNREFUSED" }), "unreachable"],
  ["ECONNRESET", err("read ECONNRESET", { code: "ECONNRESET" }), "unreachable"],
  ["EPIPE", err("write EPIPE", { code: "EPIPE" }), "unreachable"],
  ["ETIMEDOUT", err("connect ETIMEDOUT", { code: "ETIMEDOUT" }), "unreachable"],
  ["EHOSTUNREACH", err("connect EHOSTUNREACH", { code: "EHOSTUNREACH" }), "unreachable"],
  ["every address refused (Node's AggregateError)", new AggregateError([err("connect ECONNREFUSED ::1:5432", { code: "ECONNREFUSED" })], ""), "unreachable"],
  ["a wrapped socket error (cause)", err("query failed", { cause: err("read ECONNRESET", { code: "ECONNRESET" }) }), "unreachable"],
  ["SQLSTATE class 08 (connection failure)", err("connection failure", { code: "08006" }), "unreachable"],
  ["SQLSTATE 08001 (could not connect)", err("could not connect", { code: "08001" }), "unreachable"],
  ["SQLSTATE 57P01 (admin shutdown)", err("terminating connection due to administrator command", { code: "57P01" }), "unreachable"],
  ["SQLSTATE 57P02 (crash shutdown)", err("crash", { code: "57P02" }), "unreachable"],
  ["SQLSTATE 57P03 (cannot connect now: starting up)", err("the database system is starting up", { code: "57P03" }), "unreachable"],
  // Connected, but no answer in time, or no connection to be had.
  ["our query timeout (pg's 'Query read timeout')", err("Query read timeout"), "no-answer"],
  ["our query timeout, behind knex's query prefix", err("select * from clusters where id = $1 - Query read timeout"), "no-answer"],
  ["knex's pool acquire timeout", err("Knex: Timeout acquiring a connection. The pool is probably full.", { name: "KnexTimeoutError" }), "busy"],
  ["SQLSTATE 53300 (too many connections)", err("sorry, too many clients already", { code: "53300" }), "busy"],
  // Postgres answered.
  ["SQLSTATE 57014 (statement timeout)", err("canceling statement due to statement timeout", { code: "57014" }), "statement-timeout"],
  ["deadlock victim", err("deadlock detected", { code: "40P01" }), "conflict"],
  ["serialization failure", err("could not serialize access", { code: "40001" }), "conflict"],
  ["unique violation", err("duplicate key value", { code: "23505" }), "unique-violation"],
  ["any other SQLSTATE, whatever its message says", err("Connection terminated unexpectedly", { code: "22P02" }), "other"],
  ["a driver message quoted inside another (knex puts bindings in messages)", err("insert into clusters (name) values ('timeout expired') - value too long"), "other"],
  ["a programming error", new TypeError("cannot read properties of undefined"), "other"],
  ["not an error at all", "timeout expired", "other"],
])("classifyDbError: %s → %s", (_, error, fault) => {
  expect(classifyDbError(error)).toBe(fault);
});

test.each([
  ["unreachable", "ECONNREFUSED", "UnavailableError", "database unavailable, retry later"],
  ["busy", "53300", "UnavailableError", "database busy, retry later"],
  ["statement timeout: says what to do", "57014", "UnavailableError", "database query took longer than the statement timeout; retry later, or ask for less (a smaller page or a narrower filter)"],
  ["deadlock victim", "40P01", "UnavailableError", "concurrent change in the database, retry"],
  ["unique violation", "23505", "AlreadyExistsError", "already exists"],
  ["anything else stays as it is", "22P02", "Error", "driver says no"],
])("translateDbError: %s (%s) → %s", (_, code, name, message) => {
  let thrown: unknown;
  try {
    translateDbError(err("driver says no", { code }));
  } catch (e) {
    thrown = e;
  }
  expect((thrown as Error).constructor.name).toBe(name);
  expect((thrown as Error).message).toBe(message);
});

test("a statement that runs past the statement timeout is cancelled by Postgres and answers Unavailable, saying so", async () => {
  const temp = await createTempDatabase();
  const db = createDb({ url: temp.url, statementTimeoutMs: 200 });
  try {
    const e = await db.raw("select pg_sleep(5)").then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(() => translateDbError(e)).toThrow(UnavailableError);
    expect(() => translateDbError(e)).toThrow(/longer than the statement timeout/);
  } finally {
    await db.destroy();
    await temp.drop();
  }
});

test("a query the server does not answer within the query timeout fails Unavailable, and its connection is not handed out again", async () => {
  const temp = await createTempDatabase();
  // One connection, so that the next call would get the same one; a statement timeout far above the query timeout stands for a server that says nothing.
  const db = createDb({ url: temp.url, poolMax: 1, statementTimeoutMs: 20_000, queryTimeoutMs: 300 });
  try {
    const e = await queryPrepared(db, "sleeper", "select pg_sleep(10)", []).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(classifyDbError(e)).toBe("no-answer");
    expect(() => translateDbError(e)).toThrow("database did not answer in time, retry later");
    // Had the connection gone back to the pool, this would queue behind the 10 s sleep and time out too.
    expect((await queryPrepared(db, "after", "select 1 as n", [])).rows).toEqual([{ n: 1 }]);
  } finally {
    await db.destroy();
    await temp.drop();
  }
});
