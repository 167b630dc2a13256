import { RTCPeerConnection, type NodeRTCConfiguration } from '../src/index.js';

/** Loopback only, no STUN: what every test peer connection uses. */
export const LOOPBACK: NodeRTCConfiguration = { iceServers: [], bindAddress: '127.0.0.1' };

/** Resolves with the first `type` event on `target` that passes `accept`; rejects after `timeoutMs`. */
export function nextEvent<E extends Event = Event>(
  target: EventTarget,
  type: string,
  accept: (event: E) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<E> {
  return new Promise<E>((resolve, reject) => {
    const listener = (event: Event): void => {
      if (!accept(event as E)) return;
      clearTimeout(timer);
      target.removeEventListener(type, listener);
      resolve(event as E);
    };
    const timer = setTimeout(() => {
      target.removeEventListener(type, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${type}`));
    }, timeoutMs);
    target.addEventListener(type, listener);
  });
}

/** Resolves once `condition()` holds, re-checked on every `type` event of `target`. */
export async function until(
  target: EventTarget,
  types: readonly string[],
  condition: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  if (condition()) return;
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (!condition()) return;
      done();
      resolve();
    };
    const done = (): void => {
      clearTimeout(timer);
      for (const type of types) target.removeEventListener(type, check);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting on ${types.join(', ')}`));
    }, timeoutMs);
    for (const type of types) target.addEventListener(type, check);
  });
}

type SignalMessage =
  | { description: { type: 'offer' | 'answer' | 'pranswer' | 'rollback'; sdp: string } }
  | { candidate: Record<string, unknown> | null };

/** What the shim recorded, for assertions. */
export interface SignalLog {
  readonly candidates: Array<Record<string, unknown> | null>;
  readonly descriptions: Array<{ type: string }>;
  readonly errors: unknown[];
  ignoredOffers: number;
}

/**
 * Wires `pc` into a signalling channel with the perfect negotiation pattern, exactly as a
 * browser application would write it. Messages go through JSON, one per macrotask, in order.
 */
export function perfectNegotiation(
  pc: RTCPeerConnection,
  polite: boolean,
  send: (message: SignalMessage) => void,
): { receive: (message: SignalMessage) => Promise<void>; log: SignalLog } {
  let makingOffer = false;
  let ignoreOffer = false;
  const log: SignalLog = { candidates: [], descriptions: [], errors: [], ignoredOffers: 0 };
  pc.onnegotiationneeded = async () => {
    try {
      makingOffer = true;
      await pc.setLocalDescription();
      send({ description: pc.localDescription!.toJSON() });
    } catch (err) {
      log.errors.push(err);
    } finally {
      makingOffer = false;
    }
  };
  pc.onicecandidate = ({ candidate }) => {
    const json = candidate === null ? null : candidate.toJSON();
    log.candidates.push(json);
    send({ candidate: json });
  };
  const receive = async (message: SignalMessage): Promise<void> => {
    try {
      if ('description' in message) {
        const { description } = message;
        log.descriptions.push({ type: description.type });
        const offerCollision =
          description.type === 'offer' && (makingOffer || pc.signalingState !== 'stable');
        ignoreOffer = !polite && offerCollision;
        if (ignoreOffer) {
          log.ignoredOffers++;
          return;
        }
        await pc.setRemoteDescription(description);
        if (description.type === 'offer') {
          await pc.setLocalDescription();
          send({ description: pc.localDescription!.toJSON() });
        }
      } else {
        try {
          await pc.addIceCandidate(message.candidate);
        } catch (err) {
          if (!ignoreOffer) throw err;
        }
      }
    } catch (err) {
      log.errors.push(err);
    }
  };
  return { receive, log };
}

/** Two loopback peer connections joined by an in-process signalling channel. */
export function createPair(configuration: NodeRTCConfiguration = LOOPBACK): {
  polite: RTCPeerConnection;
  impolite: RTCPeerConnection;
  politeLog: SignalLog;
  impoliteLog: SignalLog;
  close: () => void;
} {
  const polite = new RTCPeerConnection(configuration);
  const impolite = new RTCPeerConnection(configuration);
  let closed = false;
  const wire = (deliver: () => (message: SignalMessage) => Promise<void>) => {
    let chain = Promise.resolve();
    return (message: SignalMessage) => {
      const copy = JSON.parse(JSON.stringify(message)) as SignalMessage;
      chain = chain
        .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(() => (closed ? undefined : deliver()(copy)));
    };
  };
  const politeSide = perfectNegotiation(
    polite,
    true,
    wire(() => impoliteSide.receive),
  );
  const impoliteSide = perfectNegotiation(
    impolite,
    false,
    wire(() => politeSide.receive),
  );
  return {
    polite,
    impolite,
    politeLog: politeSide.log,
    impoliteLog: impoliteSide.log,
    close: () => {
      closed = true;
      polite.close();
      impolite.close();
    },
  };
}
