import { adapterHealth, type AdapterHealth, type ConsumerView } from "./health.js";

test.each<[string, ConsumerView | undefined, AdapterHealth]>([
  ["before the first subscribe: not serving", undefined, { serving: false, reason: "NotSubscribed", message: "not subscribed yet" }],
  ["consuming: serving", { consuming: true, reason: "" }, { serving: true, reason: "Consuming", message: "" }],
  [
    "the subscription was deleted or the broker came back empty: not serving, says which",
    { consuming: false, reason: "subscription hf-clusters-dns does not exist", fault: "missing" },
    { serving: false, reason: "SubscriptionMissing", message: "subscription hf-clusters-dns does not exist" },
  ],
  [
    "the broker is unreachable: not serving",
    { consuming: false, reason: "14 UNAVAILABLE: No connection established", fault: "unavailable" },
    { serving: false, reason: "BrokerUnavailable", message: "14 UNAVAILABLE: No connection established" },
  ],
  ["closed at shutdown (no fault): not serving", { consuming: false, reason: "closed" }, { serving: false, reason: "Stopped", message: "closed" }],
  ["not consuming without words: still says so", { consuming: false, reason: "", fault: "unavailable" }, { serving: false, reason: "BrokerUnavailable", message: "not consuming" }],
])("%s", (_name, consumer, want) => expect(adapterHealth(consumer)).toEqual(want));
