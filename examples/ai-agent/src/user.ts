import { Direct, SignallingClient } from '@metered/signalling';
import { WebSocket } from 'ws';
import { isReply, type Ask } from './messages.js';
import { mintToken, type SecretKey } from './token.js';

export interface UserOptions {
  readonly url: string;
  readonly secretKey: SecretKey;
  readonly peerId: string;
  /** The agent to ask. Default `agent`. */
  readonly agentId?: string;
  /** Called when the agent starts typing an answer. */
  readonly onTyping?: () => void;
}

export interface User {
  /** Sends a question; resolves with the answer. Questions are answered in order. */
  ask(text: string): Promise<string>;
  close(): Promise<void>;
}

/** The other side: a user (a chat widget, a CLI) asking the agent through direct messages. */
export async function connectUser(options: UserOptions): Promise<User> {
  const agentId = options.agentId ?? 'agent';
  const waiting: { resolve: (text: string) => void; reject: (error: Error) => void }[] = [];

  const client = new SignallingClient({
    url: options.url,
    // Users may only send (direct messages are not scoped by channel): no channels to read.
    tokenProvider: ({ signal }) =>
      mintToken(
        options.url,
        options.secretKey,
        { peerId: options.peerId, channels: ['agents'], permissions: ['send'] },
        signal,
      ),
    webSocketFactory: (url) => new WebSocket(url),
  });
  client.on(Direct, ({ senderPeerId, data }) => {
    if (senderPeerId !== agentId || !isReply(data)) return;
    if (data.type === 'typing') options.onTyping?.();
    else if (data.type === 'answer') waiting.shift()?.resolve(data.text);
    else waiting.shift()?.reject(new Error(data.text));
  });
  await client.connect();

  return {
    async ask(text) {
      let entry!: (typeof waiting)[number];
      const answered = new Promise<string>((resolve, reject) => {
        entry = { resolve, reject };
        waiting.push(entry);
      });
      try {
        await client.send(agentId, { type: 'ask', text } satisfies Ask);
      } catch (error) {
        waiting.splice(waiting.indexOf(entry), 1);
        throw error;
      }
      return answered;
    },
    async close() {
      for (const { reject } of waiting.splice(0)) reject(new Error('closed'));
      await client.close();
    },
  };
}
