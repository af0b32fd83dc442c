export * from "./reconcile-event.js";
