import { pubsubMissing, rabbitMissing } from "./faults.js";

const err = (message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), fields);

test.each([
  ["NOT_FOUND (a topic or subscription that is gone): missing", err("5 NOT_FOUND: Subscription does not exist", { code: 5 }), true],
  ["UNAVAILABLE (emulator stopped): not missing", err("14 UNAVAILABLE: No connection established", { code: 14 }), false],
  ["DEADLINE_EXCEEDED: not missing", err("4 DEADLINE_EXCEEDED", { code: 4 }), false],
  ["ALREADY_EXISTS: not missing", err("6 ALREADY_EXISTS", { code: 6 }), false],
  ["the code is what counts, not the words", err("Topic not found"), false],
  ["our own timeout: not missing", err("publish to t timed out after 10 ms"), false],
  ["not an error at all", undefined, false],
])("pubsub: %s", (_name, e, want) => expect(pubsubMissing(e)).toBe(want));

test.each([
  ["channel closed by the server with 404 (queue deleted): missing", err("Channel closed by server: 404 (NOT-FOUND) with message \"NOT_FOUND - no queue 'q' in vhost '/'\"", { code: 404 }), true],
  ["an RPC refused with 404, code only in the message: missing", err("Operation failed: BasicConsume; 404 (NOT-FOUND) with message \"NOT_FOUND - no queue 'q'\""), true],
  ["connection forced closed (320): not missing", err("Connection closed: 320 (CONNECTION-FORCED) with message \"CONNECTION_FORCED - Closed via management plugin\"", { code: 320 }), false],
  ["precondition failed (406): not missing", err("Channel closed by server: 406 (PRECONDITION-FAILED)", { code: 406 }), false],
  ["refused connection: not missing", err("connect ECONNREFUSED 127.0.0.1:5672", { code: "ECONNREFUSED" }), false],
  ["a closed channel says nothing about why: not missing", err("Channel closed"), false],
  ["not an error at all", undefined, false],
])("rabbitmq: %s", (_name, e, want) => expect(rabbitMissing(e)).toBe(want));
