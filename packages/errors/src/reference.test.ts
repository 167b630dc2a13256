import { describe, expect, it } from 'vitest';
import { WsCloseCode, closeCodeAction } from './close-codes.js';
import { ERROR_CODES } from './error-codes.js';
import {
  CLOSE_CODE_REFERENCE,
  ERROR_CODE_REFERENCE,
  describeCloseCode,
  describeErrorCode,
} from './reference.js';

describe('close-code reference', () => {
  it('covers every WsCloseCode member and 1006, in order', () => {
    expect(CLOSE_CODE_REFERENCE.map((info) => info.code)).toEqual(
      [...Object.values(WsCloseCode), 1006].sort((a, b) => a - b),
    );
  });

  it('agrees with closeCodeAction and the member names', () => {
    for (const info of CLOSE_CODE_REFERENCE) {
      expect(info.action).toBe(closeCodeAction(info.code));
      if (info.member === null) expect(info.code).toBe(1006);
      else expect(WsCloseCode[info.member]).toBe(info.code);
      expect(info.meaning.length * info.sdkDoes.length * info.youShould.length).toBeGreaterThan(0);
    }
  });

  it('describes unknown codes generically', () => {
    expect(describeCloseCode(4020).member).toBe('ADMIN_DISCONNECT');
    expect(describeCloseCode(4999)).toMatchObject({
      code: 4999,
      member: null,
      action: 'reconnect',
    });
  });
});

describe('error-code reference', () => {
  it('covers the eleven codes in order', () => {
    expect(ERROR_CODE_REFERENCE.map((info) => info.code)).toEqual([...ERROR_CODES]);
    expect(describeErrorCode('over_message_quota').triggeredBy).toMatch(/stays open/);
  });
});
