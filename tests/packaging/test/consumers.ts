// What the three throwaway consumer projects run. Each prints one JSON object: for every entry
// point it imports, the result of using one of its symbols. The expected values are the same
// for the three builds, so a format that resolves to a different file (or to nothing) shows.

/** Entry points a browser bundle may import: no Node built-ins, no native code. */
export const BROWSER_ENTRIES = [
  '@metered/errors',
  '@metered/errors/reference',
  '@metered/events',
  '@metered/protocol',
  '@metered/protocol/test-vectors/client-frames.json',
  '@metered/protocol/test-vectors/server-frames.json',
  '@metered/signalling',
  '@metered/signalling/testing',
  '@metered/datachannel',
  '@metered/datachannel/testing',
  '@metered/peer',
  '@metered/peer/testing',
] as const;

/** The packages the browser bundle installs (the rest need Node). */
export const BROWSER_PACKAGES = [
  '@metered/errors',
  '@metered/events',
  '@metered/protocol',
  '@metered/signalling',
  '@metered/datachannel',
  '@metered/peer',
] as const;

/** What every consumer prints for the entry points it covers. */
export const EXPECTED: Readonly<Record<string, unknown>> = {
  '@metered/errors': 'stop',
  '@metered/errors/reference': 'INVALID_TOKEN',
  '@metered/events': 3,
  '@metered/protocol': 'ping',
  '@metered/protocol/test-vectors/client-frames.json': true,
  '@metered/protocol/test-vectors/server-frames.json': true,
  '@metered/signalling': true,
  '@metered/signalling/testing': 'closed',
  '@metered/datachannel': 6,
  '@metered/datachannel/testing': 'open',
  '@metered/peer': 'idle',
  '@metered/peer/testing': 'stable',
  '@metered/node-webrtc-adapter': 'closed',
  '@metered/server': 'pk_live_dev',
};

/** The Node entry points, browser-safe ones first, then those needing Node. */
export const NODE_ENTRIES = [...BROWSER_ENTRIES, '@metered/node-webrtc-adapter', '@metered/server'];

/** Every public package: each exports its \`package.json\`, which the Node consumers read. */
export const PUBLIC_PACKAGES = [
  '@metered/errors',
  '@metered/events',
  '@metered/protocol',
  '@metered/signalling',
  '@metered/datachannel',
  '@metered/peer',
  '@metered/node-webrtc-adapter',
  '@metered/server',
] as const;
const JSON_PACKAGES = JSON.stringify(PUBLIC_PACKAGES);

/** Shared by every consumer: an `on` and a `once` of one function, two emits: three calls. */
const eventsPart = `
class Tick {}
const emitter = new Emitter(() => {});
let ticks = 0;
const onTick = () => void (ticks += 1);
emitter.on(Tick, onTick);
emitter.on(Tick, onTick, true);
emitter.emit(new Tick());
emitter.emit(new Tick());
results['@metered/events'] = ticks;
`;

/** Shared by the ESM file and the browser bundle: static imports and named exports. */
const esmBrowserPart = `
import { closeCodeAction, MeteredRealtimeError } from '@metered/errors';
import { describeCloseCode } from '@metered/errors/reference';
import { Emitter } from '@metered/events';
import { parseClientFrame, PING_FRAME } from '@metered/protocol';
import clientFrames from '@metered/protocol/test-vectors/client-frames.json' with { type: 'json' };
import serverFrames from '@metered/protocol/test-vectors/server-frames.json' with { type: 'json' };
import { SignallingClient, SignallingError } from '@metered/signalling';
import { createFakeWebSocketFactory } from '@metered/signalling/testing';
import { payloadSize } from '@metered/datachannel';
import { FakeDataChannel } from '@metered/datachannel/testing';
import { MeteredPeer } from '@metered/peer';
import { createFakePeerConnectionFactory, FakeRTCPeerConnection } from '@metered/peer/testing';

const results = {};
results['@metered/errors'] = closeCodeAction(4001);
results['@metered/errors/reference'] = describeCloseCode(4001).member;
${eventsPart}
results['@metered/protocol'] = parseClientFrame(PING_FRAME).frame.type;
results['@metered/protocol/test-vectors/client-frames.json'] = Array.isArray(clientFrames.valid);
results['@metered/protocol/test-vectors/server-frames.json'] = typeof serverFrames === 'object';
results['@metered/signalling'] = new SignallingError() instanceof MeteredRealtimeError;
const client = new SignallingClient({ apiKey: 'pk_test', webSocketFactory: createFakeWebSocketFactory() });
await client.close();
results['@metered/signalling/testing'] = client.state;
results['@metered/datachannel'] = payloadSize('héllo');
results['@metered/datachannel/testing'] = new FakeDataChannel('chat').readyState;
const peer = new MeteredPeer({
  apiKey: 'pk_test',
  webSocketFactory: createFakeWebSocketFactory(),
  rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
});
results['@metered/peer'] = peer.state;
await peer.close();
results['@metered/peer/testing'] = new FakeRTCPeerConnection().signalingState;
`;

/** `index.mjs` of the plain Node ESM project. */
export const ESM_SOURCE = `${esmBrowserPart}
import { RTCPeerConnection } from '@metered/node-webrtc-adapter';
import { DEV_CREDENTIALS } from '@metered/server';

const connection = new RTCPeerConnection();
connection.close();
results['@metered/node-webrtc-adapter'] = connection.connectionState;
results['@metered/server'] = DEV_CREDENTIALS.publishableKey;
const versions = {};
for (const name of ${JSON_PACKAGES}) {
  versions[name] = (await import(\`\${name}/package.json\`, { with: { type: 'json' } })).default.version;
}
console.log(JSON.stringify({ results, versions }));
`;

/** `entry.mjs` of the browser bundle. */
export const BUNDLE_SOURCE = `${esmBrowserPart}
console.log(JSON.stringify({ results }));
`;

/**
 * \`index.js\` of an \`npm init -y\` (CommonJS) project: \`require\` for every entry point. The
 * SDK packages have CommonJS builds; \`@metered/server\` is ESM only, which \`require\` loads
 * from Node 20.19 on (its \`engines\`).
 */
export const CJS_SOURCE = `'use strict';
const { closeCodeAction, MeteredRealtimeError } = require('@metered/errors');
const { describeCloseCode } = require('@metered/errors/reference');
const { Emitter } = require('@metered/events');
const { parseClientFrame, PING_FRAME } = require('@metered/protocol');
const clientFrames = require('@metered/protocol/test-vectors/client-frames.json');
const serverFrames = require('@metered/protocol/test-vectors/server-frames.json');
const { SignallingClient, SignallingError } = require('@metered/signalling');
const { createFakeWebSocketFactory } = require('@metered/signalling/testing');
const { payloadSize } = require('@metered/datachannel');
const { FakeDataChannel } = require('@metered/datachannel/testing');
const { MeteredPeer } = require('@metered/peer');
const { createFakePeerConnectionFactory, FakeRTCPeerConnection } = require('@metered/peer/testing');
const { RTCPeerConnection } = require('@metered/node-webrtc-adapter');

async function main() {
  const results = {};
  results['@metered/errors'] = closeCodeAction(4001);
  results['@metered/errors/reference'] = describeCloseCode(4001).member;
  ${eventsPart}
  results['@metered/protocol'] = parseClientFrame(PING_FRAME).frame.type;
  results['@metered/protocol/test-vectors/client-frames.json'] = Array.isArray(clientFrames.valid);
  results['@metered/protocol/test-vectors/server-frames.json'] = typeof serverFrames === 'object';
  results['@metered/signalling'] = new SignallingError() instanceof MeteredRealtimeError;
  const client = new SignallingClient({ apiKey: 'pk_test', webSocketFactory: createFakeWebSocketFactory() });
  await client.close();
  results['@metered/signalling/testing'] = client.state;
  results['@metered/datachannel'] = payloadSize('héllo');
  results['@metered/datachannel/testing'] = new FakeDataChannel('chat').readyState;
  const peer = new MeteredPeer({
    apiKey: 'pk_test',
    webSocketFactory: createFakeWebSocketFactory(),
    rtcPeerConnectionFactory: createFakePeerConnectionFactory(),
  });
  results['@metered/peer'] = peer.state;
  await peer.close();
  results['@metered/peer/testing'] = new FakeRTCPeerConnection().signalingState;
  const connection = new RTCPeerConnection();
  connection.close();
  results['@metered/node-webrtc-adapter'] = connection.connectionState;
  const { DEV_CREDENTIALS } = require('@metered/server');
  results['@metered/server'] = DEV_CREDENTIALS.publishableKey;
  const versions = {};
  for (const name of ${JSON_PACKAGES}) versions[name] = require(\`\${name}/package.json\`).version;
  console.log(JSON.stringify({ results, versions }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;
