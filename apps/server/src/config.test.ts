import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, parseConfig, parseConfigText } from './config.js';

function issuesOf(input: unknown): readonly string[] {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe('parseConfig', () => {
  it('applies the defaults of the documented shape', () => {
    const config = parseConfig({ apps: [{ id: 'a' }] });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 9292,
      httpHeadersTimeoutMs: 10_000,
      trustedProxyHops: 0,
      broker: { kind: 'memory' },
    });
    expect(config.apps[0]).toMatchObject({
      suspended: false,
      plan: {
        maxConcurrentConnections: 1000,
        maxMessagesPerPeriod: 1_000_000,
        periodSeconds: 2_592_000,
      },
      limits: {
        maxMessageSize: 65536,
        maxChannelsPerConnection: 100,
        messagesPerSecond: 100,
        messageBurst: 200,
        connectAttemptsPerIpPerMinute: 60,
      },
      iceServers: [],
    });
  });

  it('accepts the embedded default', () => {
    const config = parseConfig(DEFAULT_CONFIG);
    expect(config.apps[0]?.publishableKeys[0]?.key).toBe('pk_live_dev');
    expect(config.apps[0]?.secretKeys[0]).toMatchObject({
      id: 'sk_id_dev',
      secret: 'sk_secret_dev',
    });
  });

  it('names the field of every problem', () => {
    expect(issuesOf({ apps: [{ id: 'a', limits: { messageBurst: -1 } }] })[0]).toMatch(
      /^apps\[0\]\.limits\.messageBurst: /,
    );
    expect(
      issuesOf({ apps: [{ id: 'a', publishableKeys: [{ key: 'k', actions: ['x'] }] }] })[0],
    ).toMatch(/^apps\[0\]\.publishableKeys\[0\]\.actions\[0\]: /);
    expect(issuesOf({ apps: [], port: 70000 })).toEqual([
      expect.stringMatching(/^port: /),
      expect.stringMatching(/^apps: /),
    ]);
    expect(issuesOf({ apps: [{ id: 'a' }, { id: 'a' }] })).toEqual([
      expect.stringMatching(/^apps\[1\]\.id: duplicate app id/),
    ]);
    expect(issuesOf({ apps: [{ id: 'a' }], broker: { kind: 'etcd' } })[0]).toMatch(
      /^broker\.kind: /,
    );
    for (const timeout of [999, 300_001, 1500.5]) {
      expect(issuesOf({ apps: [{ id: 'a' }], httpHeadersTimeoutMs: timeout })[0]).toMatch(
        /^httpHeadersTimeoutMs: /,
      );
    }
    for (const hops of [-1, 1.5, 17, '1']) {
      expect(issuesOf({ apps: [{ id: 'a' }], trustedProxyHops: hops })[0]).toMatch(
        /^trustedProxyHops: /,
      );
    }
  });

  it('reports invalid JSON', () => {
    expect(() => parseConfigText('{')).toThrow(/not valid JSON/);
  });
});

describe('iceServers', () => {
  it('accepts what clients accept and refuses the rest', () => {
    expect(
      parseConfig({
        apps: [{ id: 'a', iceServers: [{ urls: ['stun:s.example', 'turns:t.example'] }] }],
      }).apps[0]?.iceServers,
    ).toHaveLength(1);
    expect(issuesOf({ apps: [{ id: 'a', iceServers: [{ urls: 'http://x' }] }] })[0]).toMatch(
      /^apps\[0\]\.iceServers: /,
    );
  });
});
