#!/usr/bin/env node
// Pair-connect time on loopback: raw node-datachannel (offer/answer and candidates exchanged
// as they come, the library's defaults) against this adapter (perfect negotiation through an
// in-process signalling shim). Time = from creating the two peer connections to both ends of a
// data channel being open. Prints p50/p90/max per variant.
// With --phases, also prints where an adapter pair's time goes: the median time from the start
// to each step, offerer and answerer side by side.
// Usage: node bench/connect-time.mjs [pairs=40] [--phases]   (build the package first)
import nodeDataChannel from 'node-datachannel';
import { RTCPeerConnection } from '@metered/node-webrtc-adapter';

const args = process.argv.slice(2);
const PHASES = args.includes('--phases');
const PAIRS = Math.max(1, Math.min(500, Number(args.find((arg) => !arg.startsWith('--')) ?? 40)));
const PAIR_TIMEOUT_MS = 5_000;
const LOOPBACK = { iceServers: [], bindAddress: '127.0.0.1' };
let failed = 0;

/** node-datachannel as its README shows it: auto-negotiation, candidates relayed at once. */
function rawPair(setupFix) {
  return new Promise((resolve) => {
    const start = performance.now();
    const a = new nodeDataChannel.PeerConnection('a', LOOPBACK);
    const b = new nodeDataChannel.PeerConnection('b', LOOPBACK);
    let pending = 2;
    const finish = () => {
      if (--pending > 0) return;
      clearTimeout(timer);
      done(performance.now() - start);
    };
    const done = (ms) => {
      a.close();
      b.close();
      resolve({ ms });
    };
    const timer = setTimeout(() => done(Number.NaN), PAIR_TIMEOUT_MS);
    // What a node-datachannel callback throws ends the process: each call is caught and counted.
    const guarded = (call) => {
      try {
        call();
      } catch {
        failed++;
      }
    };
    a.onLocalDescription((sdp, type) =>
      guarded(() =>
        b.setRemoteDescription(
          setupFix ? sdp.replace('a=setup:actpass', 'a=setup:active') : sdp,
          type,
        ),
      ),
    );
    a.onLocalCandidate((candidate, mid) => guarded(() => b.addRemoteCandidate(candidate, mid)));
    b.onLocalDescription((sdp, type) => guarded(() => a.setRemoteDescription(sdp, type)));
    b.onLocalCandidate((candidate, mid) => guarded(() => a.addRemoteCandidate(candidate, mid)));
    b.onDataChannel((channel) => {
      if (channel.isOpen()) finish();
      else channel.onOpen(finish);
    });
    const channel = a.createDataChannel('bench');
    channel.onOpen(finish);
  });
}

/** Step name → milliseconds from the start, per adapter pair (with --phases). */
const phases = [];

function adapterPair() {
  return new Promise((resolve) => {
    const start = performance.now();
    const peers = [new RTCPeerConnection(LOOPBACK), new RTCPeerConnection(LOOPBACK)];
    // peers[1] creates the channel, so it offers; peers[0] answers.
    const steps = {};
    const step = (name) => {
      steps[name] ??= performance.now() - start;
    };
    if (PHASES) phases.push(steps);
    peers.forEach((pc, index) => {
      const side = index === 1 ? 'offerer' : 'answerer';
      pc.addEventListener('signalingstatechange', () => {
        if (pc.signalingState !== 'stable') step(`${side}: ${pc.signalingState}`);
        else step(`${side}: stable`);
      });
      pc.addEventListener('icecandidate', ({ candidate }) => {
        if (candidate) step(`${side}: first local candidate emitted`);
      });
      pc.addEventListener('iceconnectionstatechange', () => {
        if (pc.iceConnectionState === 'connected') step(`${side}: ICE connected`);
      });
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') step(`${side}: connected (DTLS and SCTP)`);
      });
    });
    const state = peers.map(() => ({ makingOffer: false, ignoreOffer: false }));
    peers.forEach((pc, index) => {
      const other = peers[1 - index];
      const polite = index === 0;
      const send = (message) =>
        setImmediate(() => receive(other, 1 - index, JSON.parse(JSON.stringify(message))));
      pc.onnegotiationneeded = async () => {
        state[index].makingOffer = true;
        try {
          await pc.setLocalDescription();
          send({ description: pc.localDescription });
        } finally {
          state[index].makingOffer = false;
        }
      };
      pc.onicecandidate = ({ candidate }) => send({ candidate });
      pc.polite = polite;
    });
    async function receive(pc, index, { description, candidate }) {
      try {
        if (description) {
          const collision =
            description.type === 'offer' &&
            (state[index].makingOffer || pc.signalingState !== 'stable');
          state[index].ignoreOffer = !pc.polite && collision;
          if (state[index].ignoreOffer) return;
          await pc.setRemoteDescription(description);
          if (description.type === 'offer') {
            await pc.setLocalDescription();
            setImmediate(() =>
              receive(
                peers[1 - index],
                1 - index,
                JSON.parse(JSON.stringify({ description: pc.localDescription })),
              ),
            );
          }
        } else {
          await pc.addIceCandidate(candidate).catch(() => undefined);
        }
      } catch {
        // A closed peer connection at the end of a timed-out pair.
      }
    }
    let pending = 2;
    const finish = () => {
      if (--pending > 0) return;
      clearTimeout(timer);
      done(performance.now() - start);
    };
    const done = (ms) => {
      for (const pc of peers) pc.close();
      resolve({ ms });
    };
    const timer = setTimeout(() => done(Number.NaN), PAIR_TIMEOUT_MS);
    peers[0].ondatachannel = ({ channel }) => {
      const open = () => {
        step('answerer: data channel open');
        finish();
      };
      if (channel.readyState === 'open') open();
      else channel.onopen = open;
    };
    const channel = peers[1].createDataChannel('bench');
    channel.onopen = () => {
      step('offerer: data channel open');
      finish();
    };
  });
}

function summary(name, samples) {
  const ok = samples.filter((ms) => Number.isFinite(ms)).sort((x, y) => x - y);
  const at = (q) =>
    ok.length === 0 ? Number.NaN : ok[Math.min(ok.length - 1, Math.floor(q * ok.length))];
  return {
    variant: name,
    pairs: samples.length,
    'p50 ms': at(0.5).toFixed(1),
    'p90 ms': at(0.9).toFixed(1),
    'max ms': at(1).toFixed(1),
    '≥ 900 ms': ok.filter((ms) => ms >= 900).length,
    'timed out': samples.length - ok.length,
  };
}

const variants = [
  ['raw node-datachannel', () => rawPair(false)],
  ['raw + answerer as DTLS server', () => rawPair(true)],
  ['@metered/node-webrtc-adapter', adapterPair],
];
const results = variants.map(([name]) => [name, []]);
// Interleaved, so load on the machine hits every variant alike.
for (let round = 0; round < PAIRS; round++) {
  for (const [index, [, run]] of variants.entries()) {
    const { ms } = await run();
    results[index][1].push(ms);
  }
}
console.log(`pair connect time on loopback, ${PAIRS} pairs per variant (node ${process.version})`);
console.table(results.map(([name, samples]) => summary(name, samples)));
if (failed > 0)
  console.log(`raw pairs whose signalling calls threw (failed handshakes): ${failed}`);
if (PHASES) {
  const names = [...new Set(phases.flatMap((steps) => Object.keys(steps)))];
  const median = (values) => {
    const sorted = values.sort((x, y) => x - y);
    return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)];
  };
  const rows = names
    .map((name) => ({
      step: name,
      'median ms from start': median(phases.map((steps) => steps[name]).filter(Number.isFinite)),
      pairs: phases.filter((steps) => Number.isFinite(steps[name])).length,
    }))
    .sort((x, y) => x['median ms from start'] - y['median ms from start'])
    .map((row) => ({ ...row, 'median ms from start': row['median ms from start'].toFixed(1) }));
  console.log('where an adapter pair spends its time (medians over the pairs above)');
  console.table(rows);
}
// node-datachannel may keep a connection that closed itself alive after close(): end here.
process.exit(0);
