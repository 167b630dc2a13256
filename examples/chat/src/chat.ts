import { Disconnected, Message, Presence, SignallingClient } from '@metered/signalling';
import { WebSocket } from 'ws';
import { mintToken, type SecretKey } from './token.js';

export interface ChatOptions {
  /** The server, `ws://host:port`. */
  readonly url: string;
  /** The secret key tokens are minted with (on a backend, in a real application). */
  readonly secretKey: SecretKey;
  readonly room: string;
  readonly name: string;
  /** Receives every line to show: messages, joins and leaves. */
  readonly print: (line: string) => void;
}

export interface Chat {
  /** Everyone in the room but us: peer id → name. */
  readonly members: ReadonlyMap<string, string>;
  say(text: string): Promise<void>;
  close(): Promise<void>;
}

/** What goes over the channel. */
interface ChatMessage {
  readonly text: string;
}

function nameOf(metadata: Readonly<Record<string, unknown>> | null, peerId: string): string {
  return typeof metadata?.name === 'string' ? metadata.name : peerId;
}

/**
 * Joins the chat room `chat/<room>`. Our name travels as peer metadata in the token, so the
 * others see it in presence and on every message (`includeSenderMetadata`).
 */
export async function joinChat(options: ChatOptions): Promise<Chat> {
  const channel = `chat/${options.room}`;
  const peerId = `${options.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${crypto.randomUUID().slice(0, 8)}`;
  const members = new Map<string, string>();

  const client = new SignallingClient({
    url: options.url,
    // Called before every connection attempt, so a reconnect after expiry gets a fresh token.
    tokenProvider: ({ signal }) =>
      mintToken(
        options.url,
        options.secretKey,
        {
          peerId,
          channels: [channel],
          permissions: ['subscribe', 'publish', 'presence'],
          peerMetadata: { name: options.name },
        },
        signal,
      ),
    // Node 20 and 21 have no global WebSocket.
    webSocketFactory: (url) => new WebSocket(url),
  });

  client.on(Presence, (event) => {
    for (const { peerId: id, metadata } of event.joined) {
      const isNew = !members.has(id);
      members.set(id, nameOf(metadata, id));
      if (isNew) options.print(`* ${nameOf(metadata, id)} is here`);
    }
    for (const { peerId: id } of event.left) {
      const name = members.get(id) ?? id;
      if (members.delete(id)) options.print(`* ${name} left`);
    }
  });
  client.on(Message, ({ senderPeerId, senderMetadata, data }) => {
    const text = (data as Partial<ChatMessage> | null)?.text;
    if (typeof text === 'string')
      options.print(`<${nameOf(senderMetadata, senderPeerId)}> ${text}`);
  });
  client.on(Disconnected, ({ code, willReconnect }) => {
    if (willReconnect) options.print(`* connection lost (${code}), reconnecting…`);
  });

  await client.connect();
  await client.subscribe(channel, { includeSenderMetadata: true });

  return {
    members,
    say: (text) => client.publish(channel, { text } satisfies ChatMessage),
    close: () => client.close(),
  };
}
