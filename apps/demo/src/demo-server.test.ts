import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from './demo-server.js';

function decodeClaims(token: string): Record<string, unknown> {
  const [, payload = ''] = token.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('the demo backend', () => {
  let demo: RunningDemo;

  beforeAll(async () => {
    demo = await startDemo({ port: 0, serverPort: 0 });
  });

  afterAll(async () => {
    await demo?.close();
  });

  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(new URL(path, demo.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('tells the page where the server is', async () => {
    const response = await fetch(new URL('/config.json', demo.url));
    expect(await response.json()).toEqual({ serverUrl: demo.server.url });
  });

  it('mints a token with the name and colour as peer metadata, without leaking the secret', async () => {
    const response = await post('/api/token', { peerId: 'ada-1', name: 'Ada', colour: '#db2777' });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain('sk_secret_dev');
    const { token } = JSON.parse(text) as { token: string };
    const claims = decodeClaims(token);
    expect(claims.sub).toBe('ada-1');
    expect(claims.peerMetadata).toEqual({ name: 'Ada', colour: '#db2777' });
  });

  it('refuses a malformed peer id', async () => {
    const response = await post('/api/token', { peerId: 'not a peer id' });
    expect(response.status).toBe(400);
  });

  it('kicks through the REST API (no socket: nothing closed)', async () => {
    const response = await post('/api/kick', { peerId: 'nobody' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ closed: 0 });
  });

  it('answers 404 for unknown paths', async () => {
    expect((await fetch(new URL('/nope', demo.url))).status).toBe(404);
  });
});
