import { respecGrpcMessage } from "./grpc-message.js";

test.each([
  ["printable ASCII stays as is (':' '/' '[' '\"')", encodeURIComponent('labels["a/b"]: bad'), 'labels["a/b"]: bad'],
  ["'%' is escaped", encodeURIComponent("100% done"), "100%25 done"],
  ["non-ASCII is escaped as UTF-8 bytes", encodeURIComponent("café"), "caf%C3%A9"],
  ["newline is escaped", encodeURIComponent("a\nb"), "a%0Ab"],
  ["a malformed escape is left alone", "%E0%A4%A", "%E0%A4%A"],
])("%s", (_name, input, want) => {
  expect(respecGrpcMessage(input)).toBe(want);
  if (want !== input || !input.includes("%E0")) expect(decodeURIComponent(want)).toBe(decodeURIComponent(input));
});
