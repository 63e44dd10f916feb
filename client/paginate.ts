/**
 * Walks a whole list with cursors, one page request at a time, yielding each item:
 *
 * ```ts
 * for await (const product of paginate(api.products.list, { search: 'cup' })) console.log(product.name);
 * ```
 *
 * Works with any list procedure of the typed client (`products.list`, `users.list`,
 * `analytics.list`, `reports.list`): it sends the filters you give, then each page's
 * `nextCursor`, until there is none. Every item that matches throughout the walk is yielded
 * exactly once, even while others are added or removed. Stop early with `break`: no further
 * page is requested.
 */
export async function* paginate<Input extends ListInput, Item>(
  list: { query: (input: Input) => Promise<ListPage<Item>> },
  input: Omit<Input, 'cursor' | 'page'> = {} as Omit<Input, 'cursor' | 'page'>,
): AsyncGenerator<Item, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await list.query({ ...input, ...(cursor === undefined ? {} : { cursor }) } as Input);
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/** What `paginate` needs of a list's input. */
export interface ListInput {
  cursor?: string;
  page?: number;
  size?: number;
}

/** What `paginate` needs of a list's page. */
export interface ListPage<Item> {
  items: Item[];
  nextCursor: string | null;
}
