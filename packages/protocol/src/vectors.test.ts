import { describe, expect, it } from 'vitest';
import clientVectors from '../test-vectors/client-frames.json' with { type: 'json' };
import serverVectors from '../test-vectors/server-frames.json' with { type: 'json' };
import { parseClientFrame } from './parse-client-frame.js';
import { parseServerFrame } from './parse-server-frame.js';

describe('client-frame vectors', () => {
  it.each(clientVectors.valid.map((vector) => [vector.name, vector] as const))(
    'accepts %s',
    (_name, vector) => {
      expect(parseClientFrame(vector.text)).toEqual({ ok: true, frame: vector.frame });
    },
  );

  it.each(clientVectors.invalid.map((vector) => [vector.name, vector] as const))(
    'rejects %s',
    (_name, vector) => {
      const result = parseClientFrame(vector.text);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      const { rejection } = result;
      expect(rejection.action).toBe(vector.rejection.action);
      if (rejection.action === 'close') {
        expect(rejection.closeCode).toBe(vector.rejection.closeCode);
      } else {
        expect(rejection.code).toBe(vector.rejection.code);
        expect(rejection.requestId).toBe((vector.rejection as { requestId?: string }).requestId);
        expect(rejection.message.length).toBeGreaterThan(0);
      }
    },
  );
});

describe('server-frame vectors', () => {
  it.each(serverVectors.valid.map((vector) => [vector.name, vector] as const))(
    'accepts %s',
    (_name, vector) => {
      expect(parseServerFrame(vector.text)).toEqual({ ok: true, frame: vector.frame });
    },
  );

  it.each(serverVectors.invalid.map((vector) => [vector.name, vector] as const))(
    'rejects %s',
    (_name, vector) => {
      const result = parseServerFrame(vector.text);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.reason).toBe(vector.reason);
      expect(result.error.field).toBe((vector as { field?: string }).field);
    },
  );

  it('rejects a frame over the client cap before parsing it', () => {
    const text = JSON.stringify({
      type: 'message',
      channel: 'c',
      from: 'p',
      data: 'x'.repeat(1_048_576),
    });
    expect(parseServerFrame(text)).toEqual({ ok: false, error: { reason: 'too_large' } });
    expect(parseServerFrame('{"type":"pong"}', { maxLength: 5 })).toEqual({
      ok: false,
      error: { reason: 'too_large' },
    });
  });
});
