/** True for a JSON object: not `null`, not an array. The one object check of the protocol. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
