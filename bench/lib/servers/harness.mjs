// What every benchmark server child answers over IPC: its CPU time and (after GC) its memory.
import { serveRpc } from '../common.mjs';

/** Serves `cpu`, `mem` and `stop`, plus `extra` commands; sends `{ready, port}` first. */
export function serveBenchServer({ port, stop, extra = {} }) {
  serveRpc({
    cpu: () => process.cpuUsage(),
    mem: async () => {
      for (let index = 0; index < 3; index++) {
        globalThis.gc?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return { ...process.memoryUsage(), gc: typeof globalThis.gc === 'function' };
    },
    stop: async () => {
      await stop();
      setImmediate(() => process.exit(0));
      return true;
    },
    ...extra,
  });
  process.send?.({ ready: true, port });
}
