import { allPages } from "./pages.js";

test("allPages follows page tokens until the last page and keeps the order", async () => {
  const pages: Record<string, { items: number[]; nextPageToken: string }> = { "": { items: [1, 2], nextPageToken: "a" }, a: { items: [3], nextPageToken: "b" }, b: { items: [], nextPageToken: "" } };
  const asked: string[] = [];
  expect(await allPages(async (token) => (asked.push(token), pages[token]))).toEqual([1, 2, 3]);
  expect(asked).toEqual(["", "a", "b"]);
});
