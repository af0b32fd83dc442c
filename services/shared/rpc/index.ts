export { createRpcServer, createMetricsServer, type RpcServer, type ServeOptions } from "./serve.js";
export { observeInterceptor } from "./interceptors.js";
export { ServingStatus, type HealthCheck } from "./health.js";
export { passThroughErrors } from "./errors.js";
