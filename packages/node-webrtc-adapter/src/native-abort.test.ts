import { describe, expect, it } from 'vitest';
import { runBundledChild } from '../test/bundled-child.js';

/**
 * node-datachannel does not turn every C++ exception of libdatachannel into a JavaScript error:
 * some end the process. Each scenario runs in a child process (test/native-abort-child.ts), which
 * must exit normally and report how each call settled.
 */
async function scenario(name: string): Promise<Record<string, string>> {
  const { code, signal, stdout, stderr } = await runBundledChild('native-abort-child.ts', [name]);
  expect({ code, signal, aborted: /terminate called|what\(\)/.test(stderr) }).toEqual({
    code: 0,
    signal: null,
    aborted: false,
  });
  return JSON.parse(stdout.trim()) as Record<string, string>;
}

describe('native calls never end the process', () => {
  it('createOffer while a remote offer waits rejects with InvalidStateError; the answer still works', async () => {
    expect(await scenario('create offer in have-remote-offer')).toEqual({
      createOffer: 'InvalidStateError',
      setLocalOffer: 'InvalidStateError',
      answer: 'ok',
      state: 'stable',
    });
  }, 60_000);

  it('a remote offer replaces a pending one, before and after createAnswer', async () => {
    expect(await scenario('remote offer replaces a pending one')).toEqual({
      replaced: 'ok',
      answered: 'ok',
      replacedAfterAnswer: 'ok',
      otherSession: 'OperationError',
      stateAfterRefusal: 'have-remote-offer',
      answer: 'ok',
      state: 'stable',
      remoteIsFirst: 'true',
    });
  }, 60_000);

  it('a pending offer stays answerable after node-datachannel refused one to replace it', async () => {
    expect(await scenario('answer after a refused replacement')).toEqual({
      otherSession: 'OperationError',
      state: 'have-remote-offer',
      createAnswer: 'ok',
      answer: 'ok',
    });
  }, 60_000);

  it('after node-datachannel closed the connection itself, descriptions reject with InvalidStateError', async () => {
    expect(await scenario('offer after the remote side closed')).toEqual({
      setRemote: 'InvalidStateError',
      createAnswer: 'InvalidStateError',
      answer: 'InvalidStateError',
    });
  }, 60_000);

  it('an exception of a handler node-datachannel calls is an uncaught exception, not an abort', async () => {
    expect(await scenario('handler throws inside a native callback')).toEqual({
      uncaught: 'thrown by a handler',
    });
  }, 60_000);

  it('a remote offer with a codec line libdatachannel cannot parse is answered or rejected', async () => {
    const result = await scenario('malformed codec in a remote offer');
    expect(['ok', 'OperationError']).toContain(result.setRemote);
    expect(['ok', 'OperationError', 'InvalidStateError']).toContain(result.answer);
  }, 60_000);

  it('a bind address this host lacks is refused when the connection is created', async () => {
    expect(await scenario('bind address of another host')).toEqual({
      construct: 'InvalidAccessError',
      notAnAddress: 'SyntaxError',
    });
  }, 60_000);

  it('rollback and pranswer follow the spec', async () => {
    expect(await scenario('rollback and pranswer')).toEqual({
      rollbackInStable: 'InvalidStateError',
      localRollbackOfRemoteOffer: 'ok',
      stateAfterRollback: 'stable',
      pranswer: 'ok',
      stateAfterPranswer: 'have-local-pranswer',
      offerInPranswer: 'InvalidStateError',
      answer: 'ok',
      state: 'stable',
    });
  }, 60_000);
});
