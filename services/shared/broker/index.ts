export type { Broker, Consumer, IncomingMessage, MessageHandler, OutgoingMessage, Publisher, Subscriber, SubscriptionSpec, Topology, Verdict } from "./broker.js";
export { withTimeout } from "./broker.js";
export { buildTopology, topicTopology, deadLetterName, MAX_DELIVERY_ATTEMPTS, subscriptionName, subscriptionSpec, topicName, type ResourceKind } from "./topology.js";
export { createBroker, type BrokerConfig } from "./create-broker.js";
export { brokerConfig } from "./broker-config.js";
