import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { addressGroup, clientAddress } from './client-address.js';

function request(forwardedFor?: string | string[], remoteAddress = '10.0.0.9'): IncomingMessage {
  return {
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('clientAddress', () => {
  it('is the socket peer when no proxy is trusted, whatever the header says', () => {
    expect(clientAddress(request('203.0.113.7'), 0)).toBe('10.0.0.9');
  });

  it('takes the entry the trusted proxy wrote, never the ones the client wrote', () => {
    expect(clientAddress(request('203.0.113.7'), 1)).toBe('203.0.113.7');
    expect(clientAddress(request('198.51.100.1, 203.0.113.7'), 1)).toBe('203.0.113.7');
    expect(clientAddress(request('198.51.100.1,203.0.113.7 , 10.0.0.2'), 2)).toBe('203.0.113.7');
    expect(clientAddress(request('2001:db8::1'), 1)).toBe('2001:db8::1');
  });

  it('reads a header given more than once', () => {
    expect(clientAddress(request(['198.51.100.1', '203.0.113.7']), 1)).toBe('203.0.113.7');
  });

  it('stops at the last address it can believe', () => {
    expect(clientAddress(request(undefined), 1)).toBe('10.0.0.9');
    expect(clientAddress(request(''), 1)).toBe('10.0.0.9');
    expect(clientAddress(request('203.0.113.7'), 3)).toBe('203.0.113.7');
    expect(clientAddress(request('unknown, 10.0.0.2'), 2)).toBe('10.0.0.2');
    expect(clientAddress(request('203.0.113.7:51234'), 1)).toBe('10.0.0.9');
  });
});

describe('addressGroup', () => {
  it('keeps an IPv4 address, also when written IPv4-mapped', () => {
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('::ffff:cb00:7107')).toBe('203.0.113.7');
  });

  it('counts IPv6 addresses by their /64, however they are written', () => {
    expect(addressGroup('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:0db8:0001:0002:ffff:eeee:dddd:cccc')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:DB8:1:2:0:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressGroup('64:ff9b::198.51.100.1')).toBe('64:ff9b:0:0::/64');
  });

  it('leaves what is not an address alone', () => {
    expect(addressGroup('unknown')).toBe('unknown');
  });
});
