import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROKER_UNAVAILABLE_CLOSE_CODE,
  BrokerUnavailableError,
  MemoryBroker,
  type Broker,
  type RunningServer,
} from '../src/index.js';
import { connectWithToken, startTestServer, testApp, type Frame } from './helpers.js';
import { startRedis, type RedisProcess } from './redis-server.js';

// A burst of frames on one socket, sent without waiting for any answer: whether the server waits
// for each broker reply before the next frame or has several in flight (the Redis broker), the
// answers come in request order, each with its own meaning, and receivers get what was applied
// in the order it was sent.

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

type BrokerKind = 'memory' | 'redis';

const QUOTA = 30;
const FRAMES = 60;

async function startNode(kind: BrokerKind): Promise<RunningServer> {
  const apps = [
    testApp({
      plan: { maxMessagesPerPeriod: QUOTA },
      limits: { messagesPerSecond: 10_000, messageBurst: 10_000 },
    }),
  ];
  if (kind === 'memory') return startTestServer({ apps });
  const broker = { kind: 'redis' as const, url: redis.url, keyPrefix: `order-${randomUUID()}` };
  return startTestServer({ broker, apps });
}

/** Frame `index` of the burst, and what it should be answered. */
interface Step {
  readonly frame: Record<string, unknown>;
  /** `ack`, `ack duplicate`, `pong` or an error code; undefined: counted, settled below. */
  readonly answer?: string;
  /** Counted against the quota: answered `over_message_quota` once it is exhausted. */
  readonly counted?: { readonly answer: string; readonly delivers: string };
}

function step(index: number): Step {
  const requestId = `r${index}`;
  if (index === 20) return { frame: { type: 'ping' }, answer: 'pong' };
  if (index === 14) {
    // A retry of frame 12's key: answered as a duplicate, neither applied nor counted.
    return {
      frame: { type: 'publish', channel: 'room', data: index, idempotencyKey: 'k', requestId },
      answer: 'ack duplicate',
    };
  }
  switch (index % 10) {
    case 3:
      return {
        frame: { type: 'send', to: 'nobody', data: index, requestId },
        counted: { answer: 'peer_not_found', delivers: '' },
      };
    case 5:
      // Refused by the server before the broker: a channel name without a UTF-8 form.
      return {
        frame: { type: 'publish', channel: 'room\ud800', data: index, requestId },
        answer: 'invalid_channel',
      };
    case 7:
      // Refused by the parser.
      return { frame: { type: 'publish', data: index, requestId }, answer: 'malformed_message' };
    case 9:
      return {
        frame: { type: 'send', to: 'reader', data: index, requestId },
        counted: { answer: 'ack', delivers: `direct ${index}` },
      };
    default:
      return {
        frame: {
          type: 'publish',
          channel: 'room',
          data: index,
          requestId,
          ...(index === 12 && { idempotencyKey: 'k' }),
        },
        counted: { answer: 'ack', delivers: `message ${index}` },
      };
  }
}

/** What a frame of the sender's socket answers a request, as `Step.answer` spells it. */
function answerOf(frame: Frame): string | undefined {
  if (frame.type === 'pong') return 'pong';
  if (frame.type === 'ack') return frame.duplicate === true ? 'ack duplicate' : 'ack';
  if (frame.type === 'error') return frame.code as string;
  return undefined;
}

describe.each<BrokerKind>(['memory', 'redis'])('a burst of frames on the %s broker', (kind) => {
  it('answers in request order, and receivers get what was applied in send order', async () => {
    const server = await startNode(kind);
    const reader = await connectWithToken(server, 'reader');
    await reader.request({ type: 'subscribe', channel: 'room' });
    const sender = await connectWithToken(server, 'sender');

    const expectedAnswers: string[] = [];
    const expectedDeliveries: string[] = [];
    let used = 0;
    const steps = Array.from({ length: FRAMES }, (_, index) => step(index));
    for (const { answer, counted } of steps) {
      if (counted === undefined) {
        expectedAnswers.push(answer as string);
        continue;
      }
      used++;
      if (used > QUOTA) {
        expectedAnswers.push('over_message_quota');
        continue;
      }
      expectedAnswers.push(counted.answer);
      if (counted.delivers !== '') expectedDeliveries.push(counted.delivers);
    }
    // The quota runs out within the burst, and the burst has every kind of answer.
    expect(expectedAnswers.slice(0, 40)).not.toContain('over_message_quota');
    expect(expectedAnswers.at(-1)).toBe('over_message_quota');

    for (const { frame } of steps) sender.sendJson(frame);
    // Answered: the last frame's answer, then every answer before it.
    await sender.waitFor((frame) => frame.requestId === `r${FRAMES - 1}`);
    const answers = sender.frames.map(answerOf).filter((answer) => answer !== undefined);
    expect(answers).toEqual(expectedAnswers);
    // Each answer is the one of its request.
    const requestIds = sender.frames
      .filter((frame) => frame.type === 'ack' || frame.type === 'error')
      .map((frame) => frame.requestId);
    expect(requestIds).toEqual(
      steps.flatMap(({ frame }, index) => (frame.type === 'ping' ? [] : [`r${index}`])),
    );

    const last = expectedDeliveries.at(-1) as string;
    await reader.waitFor(
      (frame) => `${frame.type} ${frame.data as number}` === last && frame.type !== 'ack',
    );
    const deliveries = reader.frames
      .filter((frame) => frame.type === 'message' || frame.type === 'direct')
      .map((frame) => `${frame.type} ${frame.data as number}`);
    expect(deliveries).toEqual(expectedDeliveries);
    // Nothing more comes: a round trip through the server after the last delivery.
    await reader.sync();
    expect(reader.frames.filter((frame) => frame.type === 'message')).toHaveLength(
      expectedDeliveries.filter((delivery) => delivery.startsWith('message')).length,
    );
  });
});

describe('a broker that fails publishes in flight', () => {
  it('closes the socket once, as broker unavailable, whatever number of replies failed', async () => {
    // Pipelined (it counts the quota itself), and every publish fails, as when Redis goes away
    // with several publishes of a socket unanswered.
    let calls = 0;
    let failAll!: () => void;
    const failing = new Promise<void>((resolve) => (failAll = resolve));
    const broker: Broker = new Proxy(new MemoryBroker(), {
      get(target, property) {
        if (property === 'countsQuota') return true;
        if (property === 'publish') {
          return () => {
            calls++;
            if (calls === 5) failAll();
            return failing.then(() => Promise.reject(new BrokerUnavailableError('gone')));
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const server = await startTestServer({ brokerImplementation: broker });
    const sender = await connectWithToken(server, 'sender');
    for (let index = 0; index < 5; index++) {
      sender.sendJson({ type: 'publish', channel: 'room', data: index, requestId: `r${index}` });
    }
    expect((await sender.closed).code).toBe(BROKER_UNAVAILABLE_CLOSE_CODE);
    expect(calls).toBe(5);
    expect(sender.ofType('ack')).toEqual([]);
  });
});
