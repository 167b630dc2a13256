import { DEFAULT_CONFIG, DEV_CREDENTIALS, startServer } from '@metered/server';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent } from '../src/agent.js';
import { localModel, type Model, type Turn } from '../src/model.js';
import { connectUser, type User } from '../src/user.js';

const secretKey = { id: DEV_CREDENTIALS.secretKeyId, secret: DEV_CREDENTIALS.secretKey };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(model: Model): Promise<{ url: string }> {
  const server = await startServer({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0 });
  cleanups.push(() => server.close());
  const agent = await startAgent({ url: server.url, secretKey, model });
  cleanups.push(() => agent.close());
  return { url: server.url };
}

async function user(url: string, peerId: string, onTyping?: () => void): Promise<User> {
  const connected = await connectUser({
    url,
    secretKey,
    peerId,
    ...(onTyping ? { onTyping } : {}),
  });
  cleanups.push(() => connected.close());
  return connected;
}

describe('the agent', () => {
  it('answers each sender in their own conversation, in order, with a typing notice first', async () => {
    const seen: Turn[][] = [];
    // A model that shows what it was given: the number of turns and the last question.
    const model: Model = async (conversation) => {
      seen.push([...conversation]);
      return `${conversation.length} turns, last: ${conversation.at(-1)?.text}`;
    };
    const { url } = await setUp(model);
    let typing = 0;
    const ada = await user(url, 'ada', () => (typing += 1));
    const grace = await user(url, 'grace');

    // Both ask at once, two questions each.
    const answers = await Promise.all([
      ada.ask('first from Ada'),
      grace.ask('first from Grace'),
      ada.ask('second from Ada'),
      grace.ask('second from Grace'),
    ]);
    expect(answers).toEqual([
      '1 turns, last: first from Ada',
      '1 turns, last: first from Grace',
      '3 turns, last: second from Ada',
      '3 turns, last: second from Grace',
    ]);
    expect(typing).toBe(2);
    // Ada's second question came with her own history only.
    expect(seen.find((turns) => turns.at(-1)?.text === 'second from Ada')).toEqual([
      { role: 'user', text: 'first from Ada' },
      { role: 'agent', text: '1 turns, last: first from Ada' },
      { role: 'user', text: 'second from Ada' },
    ]);
  });

  it('tells the user when the model fails, and the next question is answered', async () => {
    let calls = 0;
    const { url } = await setUp(async () => {
      calls += 1;
      if (calls === 1) throw new Error('model unavailable');
      return 'fine now';
    });
    const ada = await user(url, 'ada');
    await expect(ada.ask('hello?')).rejects.toThrow('Sorry, I could not answer that');
    await expect(ada.ask('hello again?')).resolves.toBe('fine now');
  });

  it('the local stand-in model keeps count of the questions', async () => {
    const { url } = await setUp(localModel);
    const ada = await user(url, 'ada');
    await expect(ada.ask('hello')).resolves.toBe('Hello! Ask me anything.');
    await expect(ada.ask('How many questions have I asked?')).resolves.toBe(
      'You have asked me 2 questions in this conversation.',
    );
  });
});
