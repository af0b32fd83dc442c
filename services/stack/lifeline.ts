/**
 * Preloaded (`node --import`) into every service `npm start` runs, before the service's own modules:
 * an entry point, so it acts on load. A service's main starts its own parent watch (onShutdown) only
 * once it is up; a stack killed while a service is still starting (waiting on a broker that is gone,
 * migrating) would leave it running until its startup gave up, or for good if it never does. From the
 * first moment, a service whose parent goes away sends itself SIGTERM: before its main has registered
 * onShutdown that ends it at once, and after, it is the graceful shutdown with its deadline.
 */
import { watchParent } from "../shared/parent-watch.js";

watchParent(() => process.kill(process.pid, "SIGTERM"));
