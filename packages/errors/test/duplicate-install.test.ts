// Two copies of the package in one process (two versions installed side by side, or the ESM and
// the CJS build both loaded): `instanceof` must still hold across them.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

type Errors = typeof import('../src/index.js');

const built = new URL('../dist/index.js', import.meta.url);

async function loadCopy(tag: string): Promise<Errors> {
  // A distinct URL is a distinct module instance for Node's ESM loader.
  return (await import(/* @vite-ignore */ `${built.href}?copy=${tag}`)) as Errors;
}

describe('duplicate installs', () => {
  it('loads two distinct copies of the built package', async () => {
    const first = await loadCopy('a');
    const second = await loadCopy('b');
    expect(first.SignallingError).not.toBe(second.SignallingError);
  });

  it('keeps instanceof across two ESM copies, hierarchy included', async () => {
    const first = await loadCopy('c');
    const second = await loadCopy('d');
    const error = new first.SignallingConnectError({ closeCode: 4001, closeReason: 'x' });
    expect(error instanceof second.SignallingConnectError).toBe(true);
    expect(error instanceof second.SignallingError).toBe(true);
    expect(error instanceof second.MeteredRealtimeError).toBe(true);
    expect(error instanceof second.ServerRequestError).toBe(false);
    expect(error instanceof second.DisconnectedError).toBe(false);
    expect(
      new first.DataChannelOverflowError({ queued: 1, cap: 1 }) instanceof second.SignallingError,
    ).toBe(false);
  });

  it('keeps instanceof between the CJS and the ESM build', async () => {
    const require = createRequire(import.meta.url);
    const cjs = require(fileURLToPath(new URL('../dist/index.cjs', import.meta.url))) as Errors;
    const esm = await loadCopy('e');
    expect(cjs.AckTimeoutError).not.toBe(esm.AckTimeoutError);
    const error = new cjs.AckTimeoutError({ requestId: 'r', timeout: 15_000 });
    expect(error instanceof esm.AckTimeoutError).toBe(true);
    expect(error instanceof esm.SignallingError).toBe(true);
    expect(
      new esm.MeteredPeerSendError({ code: 'self_send' }) instanceof cjs.MeteredPeerSendError,
    ).toBe(true);
  });
});
