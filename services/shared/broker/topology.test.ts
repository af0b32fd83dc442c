import { buildTopology, deadLetterName, subscriptionName, topicName } from "./topology.js";

test.each([
  ["topic per kind (spec §5)", topicName("hyperfleet", "clusters"), "hyperfleet-clusters"],
  ["subscription per adapter", subscriptionName("hyperfleet-clusters", "dns"), "hyperfleet-clusters-dns"],
  ["dead-letter topic per subscription", deadLetterName("hyperfleet-clusters-dns"), "hyperfleet-clusters-dns-dlq"],
])("%s", (_name, got, want) => expect(got).toBe(want));

test("buildTopology lists a topic per kind with a subscription per adapter, dead-lettered after 5 attempts", () => {
  expect(buildTopology("hf", { clusters: ["validation", "dns"], nodepools: ["nodepool"] })).toEqual({
    topics: [
      {
        name: "hf-clusters",
        subscriptions: [
          { name: "hf-clusters-validation", deadLetterTopic: "hf-clusters-validation-dlq", maxDeliveryAttempts: 5 },
          { name: "hf-clusters-dns", deadLetterTopic: "hf-clusters-dns-dlq", maxDeliveryAttempts: 5 },
        ],
      },
      { name: "hf-nodepools", subscriptions: [{ name: "hf-nodepools-nodepool", deadLetterTopic: "hf-nodepools-nodepool-dlq", maxDeliveryAttempts: 5 }] },
    ],
  });
});
