import { describe, expect, it } from 'vitest';
import {
  AUTHORIZATION,
  PUBLISHABLE_KEY,
  TestClock,
  connect,
  rest,
  startTestServer,
  testApp,
  type TestClient,
} from './helpers.js';

// One app publishing as fast as it can must not take the node (or the Redis bus) from the others.

const quietApp = testApp({
  id: 'quiet',
  publishableKeys: [
    {
      key: 'pk_quiet',
      channelPatterns: ['**'],
      actions: ['subscribe', 'publish', 'presence', 'send'],
      allowedOrigins: [],
    },
  ],
  secretKeys: [],
});

async function publishMany(client: TestClient, count: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let index = 0; index < count; index++) {
    const reply = await client.request({
      type: 'publish',
      channel: 'feed',
      data: 'x'.repeat(1000),
    });
    outcomes.push(reply.type === 'ack' ? 'ack' : reply.code);
  }
  return outcomes;
}

describe('per-app publish bandwidth', () => {
  it('refuses an app’s publishes over its bytes per second, not another app’s, and refills', async () => {
    const clock = new TestClock();
    const server = await startTestServer({
      now: clock.now,
      apps: [testApp({ limits: { maxPublishBytesPerSecond: 4096 } }), quietApp],
    });
    const noisy = connect(server, { key: PUBLISHABLE_KEY });
    const quiet = connect(server, { key: 'pk_quiet' });
    await Promise.all([noisy.welcome(), quiet.welcome()]);

    const noisyOutcomes = await publishMany(noisy, 8);
    expect(noisyOutcomes.slice(0, 4)).toEqual(['ack', 'ack', 'ack', 'ack']);
    expect(noisyOutcomes.slice(4)).toEqual([
      'over_message_quota',
      'over_message_quota',
      'over_message_quota',
      'over_message_quota',
    ]);
    expect(await publishMany(quiet, 8)).toEqual(Array(8).fill('ack'));
    const refused = await rest(server, 'POST', '/v1/channels/feed/publish', {
      body: { data: 'x' },
      authorization: AUTHORIZATION,
    });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('over_message_quota');

    clock.advance(1000);
    expect(await publishMany(noisy, 1)).toEqual(['ack']);
    // The socket stayed open throughout.
    expect(noisy.socket.readyState).toBe(noisy.socket.OPEN);
  });
});
