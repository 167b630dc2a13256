import { Direct, SignallingClient } from '@metered/signalling';
import { WebSocket } from 'ws';
import { isAsk, type Reply } from './messages.js';
import type { Model, Turn } from './model.js';
import { mintToken, type SecretKey } from './token.js';

export interface AgentOptions {
  readonly url: string;
  readonly secretKey: SecretKey;
  readonly model: Model;
  /** The agent's peer id: users send their questions to it. Default `agent`. */
  readonly agentId?: string;
  /** The channel where users find the agent in presence. Default `agents`. */
  readonly channel?: string;
  /** Turns kept per conversation (older ones are dropped). Default 20. */
  readonly maxTurns?: number;
  /** Conversations kept (the least recently active is dropped). Default 1000. */
  readonly maxConversations?: number;
  readonly log?: (line: string) => void;
}

export interface Agent {
  readonly agentId: string;
  /** The conversation with one user, oldest turn first. */
  conversation(peerId: string): readonly Turn[];
  close(): Promise<void>;
}

/**
 * An agent that answers direct messages. Each sender has a conversation of their own; questions
 * from one sender are answered one at a time, in order, while different senders are served
 * concurrently.
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const agentId = options.agentId ?? 'agent';
  const channel = options.channel ?? 'agents';
  const maxTurns = options.maxTurns ?? 20;
  const maxConversations = options.maxConversations ?? 1000;
  const conversations = new Map<string, Turn[]>();
  const queues = new Map<string, Promise<void>>();
  const closing = new AbortController();

  const client = new SignallingClient({
    url: options.url,
    // A fixed peer id, listed in presence, allowed to answer anyone (`send`).
    tokenProvider: ({ signal }) =>
      mintToken(
        options.url,
        options.secretKey,
        {
          peerId: agentId,
          channels: [channel],
          permissions: ['subscribe', 'presence', 'send'],
          peerMetadata: { kind: 'agent', name: 'Helper' },
        },
        signal,
      ),
    webSocketFactory: (url) => new WebSocket(url),
  });

  const conversationOf = (peerId: string): Turn[] => {
    const turns = conversations.get(peerId) ?? [];
    conversations.delete(peerId); // re-inserted last: the Map's order is recency
    conversations.set(peerId, turns);
    for (const oldest of conversations.keys()) {
      if (conversations.size <= maxConversations) break;
      conversations.delete(oldest);
    }
    return turns;
  };

  const reply = (peerId: string, message: Reply): Promise<void> =>
    client.send(peerId, message).catch((error: unknown) => {
      // The user left (`peer_not_found`) or we are closing: nobody to answer.
      options.log?.(`could not answer ${peerId}: ${String(error)}`);
    });

  const answer = async (peerId: string, text: string): Promise<void> => {
    const turns = conversationOf(peerId);
    turns.push({ role: 'user', text });
    await reply(peerId, { type: 'typing' });
    try {
      const answerText = await options.model([...turns], closing.signal);
      turns.push({ role: 'agent', text: answerText });
      turns.splice(0, Math.max(turns.length - maxTurns, 0));
      await reply(peerId, { type: 'answer', text: answerText });
    } catch (error) {
      turns.pop(); // the question stays unanswered; the user may ask again
      options.log?.(`model failed for ${peerId}: ${String(error)}`);
      await reply(peerId, { type: 'error', text: 'Sorry, I could not answer that. Try again?' });
    }
  };

  client.on(Direct, ({ senderPeerId, data }) => {
    if (!isAsk(data)) return;
    // Chain on the sender's queue: one question at a time per conversation.
    const previous = queues.get(senderPeerId) ?? Promise.resolve();
    const next = previous.then(() => answer(senderPeerId, data.text));
    queues.set(senderPeerId, next);
    void next.then(() => {
      if (queues.get(senderPeerId) === next) queues.delete(senderPeerId);
    });
  });

  await client.connect();
  await client.subscribe(channel);
  options.log?.(`agent ${agentId} is listening in ${channel}`);

  return {
    agentId,
    conversation: (peerId) => [...(conversations.get(peerId) ?? [])],
    async close() {
      closing.abort();
      await Promise.all(queues.values());
      await client.close();
    },
  };
}
