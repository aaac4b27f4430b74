/**
 * Mapping a window of the history without reading the old snapshots again.
 *
 * A panel with a sparkline reads one value out of each of the last few dozen snapshots every
 * tick. Those snapshots are old objects spread over the heap, cold a second after they were last
 * touched: in a CPU profile of the idle UI, reading them (a snapshot, its probe part, the totals,
 * the value) took two thirds of the page-cache panel's ~0.3 ms a tick (side by side, the saving
 * was within the noise of the UI's whole cost). Between two ticks the window moves by one
 * snapshot, so all but the newest values (and those of the snapshots the UI replaced by slimmer
 * copies) were computed at the previous tick. They are found by comparing references, which
 * reads the history array and not the objects.
 */

/** What a window was mapped to at the previous call: the items, and what each gave. */
export interface WindowMemo<A, B> {
  keys: A[];
  vals: B[];
}

/** A fresh memo for mapWindow. */
export function windowMemo<A, B>(): WindowMemo<A, B> {
  return { keys: [], vals: [] };
}

/**
 * `items.map(f)`, taking f(item) from `memo` for items that were in the window mapped last time
 * (the same object, by reference), then remembering this window. `f` must be pure: its result
 * depends on the item only, and items are never modified.
 */
export function mapWindow<A, B>(memo: WindowMemo<A, B>, items: readonly A[], f: (a: A) => B): B[] {
  const { keys, vals } = memo;
  const out: B[] = new Array(items.length);
  // Where the last window's items sit in this one: found once, from the first item that was in
  // it (the window slid by that much), then checked item by item.
  let found = false;
  let off = 0; // index in keys of items[i] is i + off
  for (let i = 0; i < items.length; i++) {
    const a = items[i];
    if (!found) {
      const k = keys.indexOf(a);
      if (k >= 0) {
        found = true;
        off = k - i;
      }
    }
    const k = i + off;
    out[i] = found && k >= 0 && k < keys.length && keys[k] === a ? vals[k] : f(a);
  }
  memo.keys = items.slice();
  memo.vals = out;
  return out;
}
