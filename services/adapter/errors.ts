/** This service has no domain errors of its own: errors cross the wire as the shared pass-through maps them. */
export { passThroughErrors as errorInterceptor } from "../shared/rpc/index.js";
