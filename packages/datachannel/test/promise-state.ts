/** Resolves once every pending promise continuation ran. */
export async function settle(): Promise<void> {
  for (let round = 0; round < 5; round++) await Promise.resolve();
}

/** Tracks whether a promise settled, without leaving it unhandled. */
export function track<T>(promise: Promise<T>): {
  readonly state: () => 'pending' | 'fulfilled' | 'rejected';
  readonly error: () => unknown;
} {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  let error: unknown;
  promise.then(
    () => {
      state = 'fulfilled';
    },
    (err: unknown) => {
      state = 'rejected';
      error = err;
    },
  );
  return { state: () => state, error: () => error };
}
