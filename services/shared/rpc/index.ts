export { createRpcServer, createMetricsServer, type RpcServer, type ServeOptions, type ServeTls } from "./serve.js";
export { peerIdentityKey, peerIdentityOf } from "./peer.js";
export { observeInterceptor } from "./interceptors.js";
export { ServingStatus, type HealthCheck } from "./health.js";
export { passThroughErrors } from "./errors.js";
