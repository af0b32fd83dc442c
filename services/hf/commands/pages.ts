/** Page size the CLI asks for when it wants everything. */
const PAGE_SIZE = 500;

/** Every item of a paged list: `page` is called with each next page token until there is none. */
export async function allPages<T>(page: (pageToken: string, pageSize: number) => Promise<{ items: T[]; nextPageToken: string }>): Promise<T[]> {
  const items: T[] = [];
  let token = "";
  do {
    const p = await page(token, PAGE_SIZE);
    items.push(...p.items);
    token = p.nextPageToken;
  } while (token);
  return items;
}
