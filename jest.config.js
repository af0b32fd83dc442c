/** Native ESM jest (run with --experimental-vm-modules) transforming TypeScript with swc. */
export default {
  // jest's node environment, skipping what the run lacks (test/support/requirements.ts says how).
  testEnvironment: "<rootDir>/test/support/environment.ts",
  roots: ["<rootDir>/services", "<rootDir>/test", "<rootDir>/bench"],
  testMatch: ["**/*.test.ts"],
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } }],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testTimeout: 30000,
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
  // Integration suites share one Postgres server; each uses its own database, so two workers suit 2 cores.
  maxWorkers: 2,
};
