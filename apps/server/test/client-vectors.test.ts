import clientVectors from '@metered/protocol/test-vectors/client-frames.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { connectWithKey, startTestServer, testApp } from './helpers.js';

interface Vector {
  readonly name: string;
  readonly text: string;
  readonly frame?: { readonly type: string; readonly requestId?: string };
  readonly rejection?: {
    readonly action: 'close' | 'error';
    readonly closeCode?: number;
    readonly code?: string;
    readonly requestId?: string;
  };
}

const vectors = clientVectors as { valid: Vector[]; invalid: Vector[] };
const options = { apps: [testApp({ limits: { connectAttemptsPerIpPerMinute: 10_000 } })] };

describe('shared client-frame vectors over a real socket', () => {
  it.each(vectors.valid.map((vector) => [vector.name, vector] as const))(
    'accepts %s',
    async (_name, vector) => {
      const server = await startTestServer(options);
      const client = await connectWithKey(server);
      client.socket.send(vector.text);
      await client.sync();
      const errors = client.ofType('error');
      if (vector.frame?.type === 'send') {
        // The vectors' targets are not online: the frame is valid, the peer is not found.
        expect(errors.map((frame) => frame.code)).toEqual(['peer_not_found']);
      } else if (vector.frame?.type === 'refresh') {
        // A key connection has no token to refresh: the frame is valid, the action is refused.
        expect(errors.map((frame) => frame.code)).toEqual(['action_not_permitted']);
      } else expect(errors).toEqual([]);
      const requestId = vector.frame?.requestId;
      if (requestId !== undefined) {
        const answers = client.frames.filter(
          (frame) =>
            (frame.type === 'ack' || frame.type === 'error') && frame.requestId === requestId,
        );
        expect(answers).toHaveLength(1);
      } else {
        expect(client.ofType('ack')).toEqual([]);
      }
    },
  );

  it.each(vectors.invalid.map((vector) => [vector.name, vector] as const))(
    'rejects %s as the vector says',
    async (_name, vector) => {
      const server = await startTestServer(options);
      const client = await connectWithKey(server);
      client.socket.send(vector.text);
      const rejection = vector.rejection!;
      if (rejection.action === 'close') {
        expect((await client.closed).code).toBe(rejection.closeCode);
        return;
      }
      const error = await client.waitFor((frame) => frame.type === 'error');
      expect(error.code).toBe(rejection.code);
      if (rejection.requestId === undefined) expect(error).not.toHaveProperty('requestId');
      else expect(error.requestId).toBe(rejection.requestId);
      await client.sync();
      expect(client.ofType('error')).toHaveLength(1);
    },
  );
});
