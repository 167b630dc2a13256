/**
 * Deepest nesting of arrays and objects accepted in claims and REST bodies. `JSON.parse` takes
 * any depth, but `JSON.stringify` (size checks, signing, every frame that carries the value)
 * recurses and overflows the stack at a few thousand levels; far below that, this limit keeps
 * such values out instead of failing later with an internal error.
 */
export const MAX_JSON_DEPTH = 1000;

/** True when `value` nests arrays/objects deeper than `limit` levels (checked without recursion). */
export function nestsDeeperThan(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}
