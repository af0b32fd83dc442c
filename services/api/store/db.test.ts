/** queryPrepared: prepared once per connection on Postgres; never on PGlite, whose one session outlives a connection. */
import pg from "pg";
import { createDb, queryPrepared, translateDbError } from "./db.js";
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
  const config = loadConfig({ HYPERFLEET_DATA_DIR: "memory", DB_PREPARED_STATEMENTS: "true" });
  const { db, reportsDb, embedded } = await openDatabase(config, silentLogger());
  try {
    await queryPrepared(db, "api-probe", "select 1 as n", []);
    // The pool replaces a connection that went away (as it does an idle one): the same PGlite session.
    const conn = (await db.client.acquireConnection()) as { end(): Promise<void> };
    await db.client.releaseConnection(conn);
    await conn.end();
    expect((await queryPrepared(db, "api-probe", "select 1 as n", [])).rows).toEqual([{ n: 1 }]);
    await db.destroy();
  } finally {
    if (reportsDb !== db) await reportsDb.destroy();
    await embedded?.stop();
  }
});

test("DB_PREPARED_STATEMENTS must be true or false", () => {
  expect(loadConfig({}).dbPreparedStatements).toBe(true);
  expect(loadConfig({ DB_PREPARED_STATEMENTS: "false" }).dbPreparedStatements).toBe(false);
  expect(() => loadConfig({ DB_PREPARED_STATEMENTS: "maybe" })).toThrow(/DB_PREPARED_STATEMENTS/);
});

test.each([
  ["deadlock victim", "40P01", "UnavailableError"],
  ["serialization failure", "40001", "UnavailableError"],
  ["connection refused", "ECONNREFUSED", "UnavailableError"],
  ["statement timeout", "57014", "UnavailableError"],
  ["unique violation", "23505", "AlreadyExistsError"],
  ["anything else stays as it is", "22P02", "Error"],
])("translateDbError: %s (%s) → %s", (_, code, name) => {
  const err = Object.assign(new Error("driver says no"), { code });
  let thrown: unknown;
  try {
    translateDbError(err);
  } catch (e) {
    thrown = e;
  }
  expect((thrown as Error).constructor.name).toBe(name);
});
