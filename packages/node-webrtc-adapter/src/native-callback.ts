/**
 * Wraps a handler that node-datachannel calls. node-datachannel is built with C++ exceptions:
 * an exception a JavaScript callback throws comes back into it as a C++ exception that nothing
 * catches, and the process ends (`terminate called after throwing an instance of
 * 'Napi::Error'`). What the handler throws is reported on the next tick instead, as for a
 * listener that throws: an uncaught exception the process can handle.
 */
export function nativeCallback<A extends unknown[]>(
  handler: (...args: A) => void,
): (...args: A) => void {
  return (...args: A) => {
    try {
      handler(...args);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  };
}
