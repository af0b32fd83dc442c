export type { Broker, Consumer, ConsumerState, FaultKind, IncomingMessage, MessageHandler, OutgoingMessage, Publisher, RetryPolicy, SubscribeOptions, Subscriber, SubscriptionSpec, Topology, Verdict } from "./broker.js";
export { faultOf, MissingError, withTimeout } from "./broker.js";
export { createReprovisioningPublisher, type ReprovisionHooks } from "./reprovisioning-publisher.js";
export { buildTopology, topicTopology, deadLetterName, MAX_DELIVERY_ATTEMPTS, subscriptionName, subscriptionSpec, topicName, type ResourceKind } from "./topology.js";
export { createBroker, type BrokerConfig } from "./create-broker.js";
export { brokerConfig } from "./broker-config.js";
