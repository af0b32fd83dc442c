import v8 from "node:v8";

/**
 * Turns off V8's allocation-site pretenuring, first thing in a service's main.
 *
 * A request's objects die within milliseconds, but a young-generation GC that lands while a batch of
 * requests is in flight sees nearly everything from their allocation sites alive. V8 then decides
 * those sites make long-lived objects and allocates them straight into the old generation, where
 * they die too and take a full mark-compact to reclaim: under report load the API ran one every
 * ~220 ms. Without pretenuring they stay young and die young: 7 % more reports per second and
 * 10 % less API CPU per report, measured alternating (docs/benchmarks.md). NODE_OPTIONS refuses V8
 * flags like this one, so it is set here, where every way of starting a service passes.
 */
export function tuneGarbageCollector(): void {
  v8.setFlagsFromString("--no-allocation-site-pretenuring");
}
