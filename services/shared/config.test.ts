import { parseDuration, rpcConfig, rpcServerLimits } from "./config.js";

test.each([
  ["150ms", 150],
  ["10s", 10_000],
  ["30m", 1_800_000],
  ["1h", 3_600_000],
  ["1m30s", 90_000],
  ["0.5s", 500],
  ["10", undefined],
  ["10 s", undefined],
  ["s", undefined],
  ["", undefined],
])("parseDuration(%j) = %j", (text, ms) => expect(parseDuration(text)).toBe(ms));

describe("rpcServerLimits", () => {
  test("unset (or empty) variables leave every limit to the server's defaults", () => {
    expect(rpcServerLimits({})).toEqual({ value: {} });
    expect(rpcServerLimits({ RPC_MAX_IN_FLIGHT: " ", RPC_IDLE_TIMEOUT: "" })).toEqual({ value: {} });
  });

  test("each variable sets its limit", () => {
    const env = {
      RPC_MAX_CONNECTIONS: "2000",
      RPC_MAX_STREAMS_PER_CONNECTION: "50",
      RPC_SESSION_MEMORY_MB: "20",
      RPC_MAX_HEADER_BYTES: "8192",
      RPC_MAX_REQUEST_BYTES: "1048576",
      RPC_MAX_IN_FLIGHT: "128",
      RPC_MAX_REQUEST_BYTES_IN_FLIGHT: "67108864",
      RPC_HEADERS_TIMEOUT: "5s",
      RPC_REQUEST_TIMEOUT: "1m",
      RPC_IDLE_TIMEOUT: "10m",
    };
    expect(rpcServerLimits(env)).toEqual({
      value: {
        maxConnections: 2000,
        maxStreamsPerConnection: 50,
        sessionMemoryMb: 20,
        maxHeaderBytes: 8192,
        maxRequestBytes: 1048576,
        maxInFlight: 128,
        maxRequestBytesInFlight: 67108864,
        headersTimeoutMs: 5000,
        requestTimeoutMs: 60_000,
        idleTimeoutMs: 600_000,
      },
    });
  });

  test("every bad value is named at once; zero is refused, since it would turn a bound off", () => {
    const r = rpcServerLimits({ RPC_MAX_IN_FLIGHT: "0", RPC_MAX_CONNECTIONS: "many", RPC_REQUEST_TIMEOUT: "0s", RPC_IDLE_TIMEOUT: "30", RPC_HEADERS_TIMEOUT: "25h" });
    expect("error" in r && r.error.split("; ")).toEqual([
      'RPC_MAX_CONNECTIONS="many": must be a positive integer',
      'RPC_MAX_IN_FLIGHT="0": must be a positive integer',
      'RPC_HEADERS_TIMEOUT="25h": must be between 1ms and 24h',
      'RPC_REQUEST_TIMEOUT="0s": must be between 1ms and 24h',
      'RPC_IDLE_TIMEOUT="30": must be a duration like 150ms, 10s, 30m, 1h',
    ]);
  });
});

test("rpcConfig: the fast path on by default, GRPC_FAST_PATH=false turns it off, a bad value is named with the limits' errors", () => {
  expect(rpcConfig({})).toEqual({ value: { limits: {}, fastPath: true } });
  expect(rpcConfig({ GRPC_FAST_PATH: "false", RPC_MAX_IN_FLIGHT: "8" })).toEqual({ value: { limits: { maxInFlight: 8 }, fastPath: false } });
  const bad = rpcConfig({ GRPC_FAST_PATH: "maybe", RPC_MAX_IN_FLIGHT: "-1" });
  expect("error" in bad && bad.error).toMatch(/RPC_MAX_IN_FLIGHT.*GRPC_FAST_PATH/);
});
