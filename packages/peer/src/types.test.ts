import { describe, expectTypeOf, it } from 'vitest';
import {
  Data,
  FatalError,
  type MeteredPeer,
  MeteredPeerStateError,
  PeerJoined,
  type RemotePeer,
  Track,
  type MeteredPeerStateErrorMethod,
} from './index.js';

describe('types', () => {
  it('infers the event type from the class passed to on()', () => {
    expectTypeOf<Parameters<MeteredPeer['on']>>().toBeArray();
    const onData = (peer: MeteredPeer): void => {
      peer.on(Data, (event) => {
        expectTypeOf(event).toEqualTypeOf<Data>();
        expectTypeOf(event.kind).toEqualTypeOf<'broadcast' | 'direct'>();
      });
      peer.on(PeerJoined, (event) => expectTypeOf(event.peer).toEqualTypeOf<RemotePeer>());
      peer.on(FatalError, (event) => expectTypeOf(event.err).toBeUnknown());
    };
    const onTrack = (remote: RemotePeer): void => {
      remote.on(Track, (event) => expectTypeOf(event).toEqualTypeOf<Track>());
    };
    expectTypeOf(onData).toBeFunction();
    expectTypeOf(onTrack).toBeFunction();
  });

  it('narrows errors by class', () => {
    const check = (err: unknown): void => {
      if (err instanceof MeteredPeerStateError) {
        expectTypeOf(err.method).toEqualTypeOf<MeteredPeerStateErrorMethod>();
        expectTypeOf(err.code).toEqualTypeOf<'invalid_state' | 'track_already_attached'>();
      }
    };
    expectTypeOf(check).toBeFunction();
  });
});
