import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, loggableUrl } from './logger.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

describe('createLogger', () => {
  it('redacts secrets by field and inside messages', () => {
    const output = capture();
    const logger = createLogger({ destination: output.stream });
    logger.info(
      {
        token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln',
        key: { secret: 'sk_secret_x' },
        request: { headers: { authorization: 'Bearer sk_id_x:sk_secret_x' } },
      },
      'connect from /v1?key=pk_live_secret&x=1 with Bearer sk_id_x:sk_secret_y',
    );
    const line = output.text();
    for (const secret of ['eyJhbGciOiJIUzI1NiJ9', 'sk_secret_x', 'pk_live_secret', 'sk_secret_y']) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('[redacted]');
  });

  it('redacts key and token query values from URLs', () => {
    expect(loggableUrl('/v1?token=abc.def.ghi')).toBe('/v1?token=[redacted]');
  });

  it('redacts the resume credential, plain and percent-encoded', () => {
    expect(loggableUrl('/v1?key=pk&resume=r3sum3')).toBe('/v1?key=[redacted]&resume=[redacted]');
    expect(loggableUrl('/v1?RESUME=r3sum3&x=1')).toBe('/v1?RESUME=[redacted]&x=1');
    expect(loggableUrl('/v1?r%65sume=r3sum3')).toBe('/v1?r%65sume=[redacted]');
  });
});

describe('loggableUrl with percent-encoded parameter names', () => {
  it.each([
    ['/v1?%74oken=abc.def.ghi', '/v1?%74oken=[redacted]'],
    ['/v1?x=1&%74%6F%6B%65%6E=abc', '/v1?x=1&%74%6F%6B%65%6E=[redacted]'],
    ['/v1?k%65y=pk_live_secret', '/v1?k%65y=[redacted]'],
    ['/v1?%73ecret=s', '/v1?%73ecret=[redacted]'],
    ['/v1?%54OKEN=abc', '/v1?%54OKEN=[redacted]'],
  ])('redacts %s', (url, expected) => {
    expect(loggableUrl(url)).toBe(expected);
  });

  it('keeps other encoded names', () => {
    expect(loggableUrl('/v1?%74opic=rooms')).toBe('/v1?%74opic=rooms');
  });
});
