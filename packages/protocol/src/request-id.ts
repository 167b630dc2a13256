/**
 * A fresh request id: a UUID v4 from `crypto.randomUUID` where the runtime has it, otherwise 22
 * base-36 characters from `Math.random`.
 */
export function createRequestId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
  let id = '';
  while (id.length < 22) id += Math.random().toString(36).slice(2);
  return id.slice(0, 22);
}
