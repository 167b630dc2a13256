#!/usr/bin/env node
// Data-channel throughput on loopback through this adapter: one pair, 64 KiB binary chunks,
// sent raw (waiting on bufferedamountlow by hand) and through @metered/datachannel's
// DataChannel. Prints MiB/s per variant.
// Usage: node bench/throughput.mjs [MiB=32]   (build this package and @metered/datachannel first)
import { DataChannel } from '@metered/datachannel';
import { RTCPeerConnection } from '@metered/node-webrtc-adapter';

const MIB = 1024 * 1024;
const TOTAL = Math.max(1, Math.min(256, Number(process.argv[2] ?? 32))) * MIB;
const CHUNK = 64 * 1024;
const LOOPBACK = { iceServers: [], bindAddress: '127.0.0.1' };

async function connectedPair() {
  const a = new RTCPeerConnection(LOOPBACK);
  const b = new RTCPeerConnection(LOOPBACK);
  a.onicecandidate = ({ candidate }) => void b.addIceCandidate(candidate);
  b.onicecandidate = ({ candidate }) => void a.addIceCandidate(candidate);
  const remote = new Promise((resolve) => {
    b.ondatachannel = ({ channel }) => resolve(channel);
  });
  const local = a.createDataChannel('throughput');
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  await new Promise((resolve) => (local.onopen = resolve));
  return { a, b, local, remote: await remote };
}

function receiveAll(channel) {
  return new Promise((resolve) => {
    let received = 0;
    channel.onmessage = ({ data }) => {
      received += data.byteLength;
      if (received >= TOTAL) resolve();
    };
  });
}

async function rawSend(local) {
  const chunk = new Uint8Array(CHUNK);
  local.bufferedAmountLowThreshold = 512 * 1024;
  for (let sent = 0; sent < TOTAL; sent += CHUNK) {
    if (local.bufferedAmount > MIB) {
      await new Promise((resolve) => (local.onbufferedamountlow = resolve));
    }
    local.send(chunk);
  }
}

async function wrappedSend(local) {
  const channel = new DataChannel(local);
  const chunk = new Uint8Array(CHUNK);
  const sends = [];
  for (let sent = 0; sent < TOTAL; sent += CHUNK) {
    if (channel.queuedSends >= channel.maxQueuedSends) await sends.at(-1);
    sends.push(channel.send(chunk));
  }
  await Promise.all(sends);
}

const rows = [];
for (const [variant, send] of [
  ['RTCDataChannel, manual bufferedamountlow', rawSend],
  ['@metered/datachannel DataChannel', wrappedSend],
]) {
  const { a, b, local, remote } = await connectedPair();
  const start = performance.now();
  const done = receiveAll(remote);
  await send(local);
  await done;
  const seconds = (performance.now() - start) / 1000;
  rows.push({
    variant,
    MiB: TOTAL / MIB,
    seconds: seconds.toFixed(2),
    'MiB/s': (TOTAL / MIB / seconds).toFixed(1),
  });
  a.close();
  b.close();
}
console.log(
  `data-channel throughput on loopback, ${CHUNK / 1024} KiB chunks (node ${process.version})`,
);
console.table(rows);
