// Run in a child process by native-abort.test.ts, one scenario per process (its name is the
// first argument): each drives node-datachannel towards a C++ exception that, uncaught, ends the
// process. The scenario prints what every call settled with, as JSON, and the process exits 0.
import {
  NodeMediaStreamTrack,
  RTCPeerConnection,
  type NodeRTCConfiguration,
} from '../src/index.js';
import { nativeCallback } from '../src/native-callback.js';
import { PeerConnection as NativePeerConnection } from 'node-datachannel';

const LOOPBACK: NodeRTCConfiguration = { iceServers: [], bindAddress: '127.0.0.1' };

/** How a call settled: `ok`, or the name of what it threw or rejected with. */
async function settle(call: () => unknown): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    return err instanceof Error || err instanceof DOMException ? err.name : typeof err;
  }
}

async function offerFrom(configure: (pc: RTCPeerConnection) => void): Promise<string> {
  const offerer = new RTCPeerConnection(LOOPBACK);
  configure(offerer);
  await offerer.setLocalDescription();
  const sdp = offerer.localDescription!.sdp;
  offerer.close();
  return sdp;
}

const scenarios: Record<string, () => Promise<Record<string, string>>> = {
  /** createOffer while a remote offer waits for its answer (perfect negotiation glare). */
  async 'create offer in have-remote-offer'() {
    const sdp = await offerFrom((pc) => pc.createDataChannel('glare'));
    const pc = new RTCPeerConnection(LOOPBACK);
    pc.createDataChannel('mine');
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const result = {
      createOffer: await settle(() => pc.createOffer()),
      setLocalOffer: await settle(() => pc.setLocalDescription({ type: 'offer' })),
      answer: await settle(() => pc.setLocalDescription()),
      state: pc.signalingState,
    };
    pc.close();
    return result;
  },

  /**
   * A second remote offer replaces the pending one, before and after createAnswer; one from
   * another ICE session (which node-datachannel refuses) leaves the pending one answerable.
   */
  async 'remote offer replaces a pending one'() {
    const offerer = new RTCPeerConnection(LOOPBACK);
    offerer.createDataChannel('one');
    await offerer.setLocalDescription();
    const first = offerer.localDescription!.sdp;
    await offerer.setLocalDescription({ type: 'rollback' });
    offerer.addTrack(new NodeMediaStreamTrack({ kind: 'video' }));
    await offerer.setLocalDescription();
    const second = offerer.localDescription!.sdp;
    offerer.close();
    const stranger = await offerFrom((pc) => pc.createDataChannel('other session'));
    const pc = new RTCPeerConnection(LOOPBACK);
    await pc.setRemoteDescription({ type: 'offer', sdp: first });
    const replaced = await settle(() => pc.setRemoteDescription({ type: 'offer', sdp: second }));
    const answered = await settle(() => pc.createAnswer());
    const replacedAfterAnswer = await settle(() =>
      pc.setRemoteDescription({ type: 'offer', sdp: first }),
    );
    const otherSession = await settle(() =>
      pc.setRemoteDescription({ type: 'offer', sdp: stranger }),
    );
    const stateAfterRefusal = pc.signalingState;
    const answer = await settle(() => pc.setLocalDescription());
    const result = {
      replaced,
      answered,
      replacedAfterAnswer,
      otherSession,
      stateAfterRefusal,
      answer,
      state: pc.signalingState,
      remoteIsFirst: String(pc.currentRemoteDescription?.sdp === first),
    };
    pc.close();
    return result;
  },

  /**
   * The first offer's answer created, a second offer from another ICE session refused: the
   * pending offer must still be answerable (libdatachannel, left stable, would throw "Unexpected
   * local description type answer in signaling state stable").
   */
  async 'answer after a refused replacement'() {
    const first = await offerFrom((pc) => pc.createDataChannel('one'));
    const stranger = await offerFrom((pc) => pc.createDataChannel('other session'));
    const pc = new RTCPeerConnection(LOOPBACK);
    await pc.setRemoteDescription({ type: 'offer', sdp: first });
    const otherSession = await settle(() =>
      pc.setRemoteDescription({ type: 'offer', sdp: stranger }),
    );
    const result = {
      otherSession,
      state: pc.signalingState,
      createAnswer: await settle(() => pc.createAnswer()),
      answer: await settle(() => pc.setLocalDescription()),
    };
    pc.close();
    return result;
  },

  /**
   * The remote side closed: node-datachannel closes its own connection (its transports are
   * gone). It then takes a remote offer without error and without leaving `stable`, so the
   * answer threw "Unexpected local desciption type answer in signaling state stable".
   */
  async 'offer after the remote side closed'() {
    const [a, b] = [new RTCPeerConnection(LOOPBACK), new RTCPeerConnection(LOOPBACK)];
    a.onicecandidate = ({ candidate }) => void b.addIceCandidate(candidate).catch(() => {});
    b.onicecandidate = ({ candidate }) => void a.addIceCandidate(candidate).catch(() => {});
    const reaches = (state: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (b.connectionState !== state) return;
          b.removeEventListener('connectionstatechange', check);
          resolve();
        };
        b.addEventListener('connectionstatechange', check);
      });
    const connected = reaches('connected');
    a.createDataChannel('first');
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription!);
    await connected;
    const closed = reaches('closed');
    a.close();
    await closed;
    const sdp = await offerFrom((pc) => pc.createDataChannel('again'));
    const result = {
      setRemote: await settle(() => b.setRemoteDescription({ type: 'offer', sdp })),
      createAnswer: await settle(() => b.createAnswer()),
      answer: await settle(() => b.setLocalDescription()),
    };
    b.close();
    return result;
  },

  /**
   * A handler node-datachannel calls throws: thrown back into node-datachannel, the exception
   * would end the process ("terminate called after throwing an instance of 'Napi::Error'").
   */
  async 'handler throws inside a native callback'() {
    const messages: string[] = [];
    const uncaught = new Promise<void>((resolve) =>
      process.on('uncaughtException', (err) => {
        messages.push(err.message);
        resolve();
      }),
    );
    const native = new NativePeerConnection('throws', { iceServers: [], bindAddress: '127.0.0.1' });
    native.onGatheringStateChange(
      nativeCallback(() => {
        throw new Error('thrown by a handler');
      }),
    );
    native.createDataChannel('gather');
    native.setLocalDescription('offer');
    await uncaught;
    native.close();
    return { uncaught: messages[0] ?? '' };
  },

  /** A remote offer whose codec line libdatachannel cannot parse, answered with a track. */
  async 'malformed codec in a remote offer'() {
    const sdp = (
      await offerFrom((pc) => pc.addTrack(new NodeMediaStreamTrack({ kind: 'video' })))
    ).replace(/^a=rtpmap:96 H264\/90000/m, 'a=rtpmap:96 H264/abc');
    const pc = new RTCPeerConnection(LOOPBACK);
    pc.addTrack(new NodeMediaStreamTrack({ kind: 'video' }));
    const result = {
      setRemote: await settle(() => pc.setRemoteDescription({ type: 'offer', sdp })),
      answer: await settle(() => pc.setLocalDescription()),
    };
    pc.close();
    return result;
  },

  /** A bind address this host does not have: libdatachannel cannot gather on it. */
  async 'bind address of another host'() {
    const attempt = (bindAddress: string) =>
      settle(async () => {
        const pc = new RTCPeerConnection({ iceServers: [], bindAddress });
        try {
          pc.createDataChannel('gather');
          await pc.setLocalDescription();
        } finally {
          pc.close();
        }
      });
    // 192.0.2.1 is reserved for documentation (RFC 5737): no host has it.
    return { construct: await attempt('192.0.2.1'), notAnAddress: await attempt('localhost:1') };
  },

  /** Explicit rollback, and pranswer, as the spec defines them. */
  async 'rollback and pranswer'() {
    const sdp = await offerFrom((pc) => pc.createDataChannel('p'));
    const pc = new RTCPeerConnection(LOOPBACK);
    const rollbackInStable = await settle(() => pc.setLocalDescription({ type: 'rollback' }));
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const localRollbackOfRemoteOffer = await settle(() =>
      pc.setLocalDescription({ type: 'rollback' }),
    );
    const stateAfterRollback = pc.signalingState;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const pranswer = await settle(() => pc.setLocalDescription({ type: 'pranswer' }));
    const stateAfterPranswer = pc.signalingState;
    const offerInPranswer = await settle(() => pc.createOffer());
    const answer = await settle(() => pc.setLocalDescription({ type: 'answer' }));
    const result = {
      rollbackInStable,
      localRollbackOfRemoteOffer,
      stateAfterRollback,
      pranswer,
      stateAfterPranswer,
      offerInPranswer,
      answer,
      state: pc.signalingState,
    };
    pc.close();
    return result;
  },
};

const name = process.argv[2] ?? '';
const scenario = scenarios[name];
if (scenario === undefined) throw new Error(`unknown scenario ${name}`);
// Exits explicitly: after node-datachannel closed a connection itself, its handles keep about
// one process in ten alive after close() (what handles.test.ts checks is the ordinary close).
const result = await scenario();
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
