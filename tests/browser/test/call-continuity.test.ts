import {
  createRtpPacket,
  NodeMediaStream,
  NodeMediaStreamTrack,
} from '@metered/node-webrtc-adapter';
import {
  ConnectionReset,
  DataChannelOpened,
  PeerLeft,
  StateChange,
  Track,
  type MeteredPeer,
  type RemotePeer,
  type RTCPeerConnectionLike,
} from '@metered/peer';
import type { RunningServer } from '@metered/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, waitFor } from './harness.js';
import type { PageCallSnapshot } from './page/call-page.js';
import { openSdkPage, startSdkPageHost, type SdkPageHost } from './sdk-page.js';
import { FaultProxy } from '@metered/test-support';
import { createNodePeer, mintCallToken, startCallServer } from './signalling-server.js';

// A call between a browser MeteredPeer and a Node one (on the adapter) is peer to peer: its media
// and data do not pass through the server. Both ends stream numbered data-channel messages (every
// 20 ms) and video RTP (the page's fake camera, the Node peer's packets every 20 ms) while their
// signalling goes through what ends a WebSocket: the server restarting, tokens expiring, the
// page's link cut. The call must not notice: the same RTCPeerConnection on both ends (compared
// by identity inside the page), no ConnectionReset, no PeerLeft, every message delivered once
// and in order, RTP still arriving both ways.

/** Past the 10 s hold of members reported gone: a departure would have shown by then. */
const PAST_THE_HOLD_MS = 11_000;

const cleanups: (() => Promise<void> | void)[] = [];

interface Call {
  readonly page: Page;
  readonly node: MeteredPeer;
  readonly toPage: RemotePeer;
  readonly connection: RTCPeerConnectionLike;
  readonly resets: ConnectionReset[];
  readonly left: PeerLeft[];
  /** Times the Node peer's signalling went to `reconnecting`. */
  readonly reconnects: () => number;
  readonly received: number[];
  readonly sent: () => number;
  readonly failedSends: () => number;
  readonly videoPackets: () => number;
  stopNumbers(): Promise<void>;
}

function snapshot(page: Page): Promise<PageCallSnapshot> {
  return page.evaluate(() => window.callPage.snapshot());
}

function record<T>(list: T[]): (event: T) => void {
  return (event) => list.push(event);
}

/** Until `condition()` holds (polled, bounded like every wait of the suite). */
async function until(condition: () => boolean, what: string): Promise<void> {
  await waitFor(
    what,
    async () => condition(),
    (held) => held,
  );
}

async function startCall(
  browser: Browser,
  host: SdkPageHost,
  urls: { page: string; node: string },
  room: string,
  tokenLifetimeSec = 3600,
): Promise<Call> {
  const pageId = `page-${room}`;
  const nodeId = `node-${room}`;
  const page = await openSdkPage(browser, host, () => mintCallToken(pageId, tokenLifetimeSec));
  cleanups.push(async () => {
    await page.evaluate(() => window.callPage.close()).catch(() => undefined);
    await page.context().close();
  });
  const node = createNodePeer(urls.node, nodeId, tokenLifetimeSec);
  cleanups.push(() => node.close());
  let reconnects = 0;
  node.on(StateChange, ({ to }) => {
    if (to === 'reconnecting') reconnects += 1;
  });
  const left: PeerLeft[] = [];
  node.on(PeerLeft, record(left));

  await node.join(room);
  expect(
    await page.evaluate(({ url, channel }) => window.callPage.join(url, channel), {
      url: urls.page,
      channel: room,
    }),
  ).toBe(pageId);
  await until(() => node.remotePeers.has(pageId), 'the Node peer to see the page');
  await waitFor(
    'the page to see the Node peer',
    () => page.evaluate(() => window.callPage.members()),
    (ids) => ids.includes(nodeId),
  );
  const toPage = node.remotePeers.get(pageId) as RemotePeer;
  const resets: ConnectionReset[] = [];
  toPage.on(ConnectionReset, record(resets));
  const tracks: Track[] = [];
  toPage.on(Track, record(tracks));
  const opened = new Promise<DataChannelOpened>((resolve) => {
    const off = toPage.on(DataChannelOpened, (event) => {
      off();
      resolve(event);
    });
  });

  // The page opens the data channel and sends its camera; the Node peer answers with its video.
  await page.evaluate((id) => window.callPage.startCall(id), nodeId);
  const { channel } = await opened;
  const received: number[] = [];
  channel.addEventListener('message', (event) =>
    received.push(Number((event as MessageEvent<string>).data)),
  );
  await until(() => tracks.length === 1, "the page's camera at the Node peer");
  const pageCamera = tracks[0]?.track as unknown as NodeMediaStreamTrack;
  const camera = new NodeMediaStreamTrack({ kind: 'video' });
  node.addTrack(camera, new NodeMediaStream([camera]), { role: 'agent camera' });
  let sequenceNumber = 0;
  const rtp = setInterval(() => {
    sequenceNumber += 1;
    camera.writeRtp(
      createRtpPacket({
        payloadType: 96,
        sequenceNumber,
        timestamp: sequenceNumber * 3000,
        ssrc: 7,
        payload: new Uint8Array(60).fill(sequenceNumber & 0xff),
      }),
    );
  }, 20);
  cleanups.push(() => clearInterval(rtp));
  await waitFor(
    'the Node video at the page',
    () => snapshot(page),
    (seen) => seen.tracks > 0 && seen.videoPacketsReceived > 5,
  );
  await until(() => toPage.pc.connectionState === 'connected', 'the Node end connected');

  let sent = 0;
  let failedSends = 0;
  const numbers = setInterval(() => {
    const n = sent++;
    try {
      channel.send(String(n));
    } catch {
      failedSends += 1;
    }
  }, 20);
  cleanups.push(() => clearInterval(numbers));
  await page.evaluate(() => window.callPage.startNumbers());
  await until(() => received.length > 5 && pageCamera.packetsReceived > 5, 'the streams flowing');
  await waitFor(
    'numbers at the page',
    () => snapshot(page),
    (seen) => seen.received.length > 5,
  );
  return {
    page,
    node,
    toPage,
    connection: toPage.pc,
    resets,
    left,
    reconnects: () => reconnects,
    received,
    sent: () => sent,
    failedSends: () => failedSends,
    videoPackets: () => pageCamera.packetsReceived,
    async stopNumbers() {
      clearInterval(numbers);
      await page.evaluate(() => window.callPage.stopNumbers());
    },
  };
}

const sequence = (length: number): number[] => Array.from({ length }, (_, n) => n);

/** The call went through untouched. */
async function expectUntouched(call: Call): Promise<void> {
  const before = await snapshot(call.page);
  const nodePacketsBefore = call.videoPackets();
  await until(() => call.videoPackets() > nodePacketsBefore + 20, 'RTP still arriving at Node');
  await waitFor(
    'RTP still arriving at the page',
    () => snapshot(call.page),
    (seen) => seen.videoPacketsReceived > before.videoPacketsReceived + 20,
  );
  await call.stopNumbers();
  const pageSent = (await snapshot(call.page)).sent;
  await until(() => call.received.length >= pageSent, 'every page message at the Node end');
  const atPage = await waitFor(
    'every Node message at the page',
    () => snapshot(call.page),
    (seen) => seen.received.length >= call.sent(),
  );

  expect(call.failedSends(), 'Node data-channel sends that failed').toBe(0);
  expect(atPage.failedSends, 'page data-channel sends that failed').toBe(0);
  expect(call.toPage.pc).toBe(call.connection);
  expect(atPage.sameConnection, 'the same RTCPeerConnection in the page').toBe(true);
  expect(atPage.connectionState).toBe('connected');
  expect(atPage.channelState).toBe('open');
  expect([call.resets.length, atPage.resets]).toEqual([0, 0]);
  expect([call.left.length, atPage.left]).toEqual([0, 0]);
  expect(call.node.remotePeers.get(call.toPage.id)).toBe(call.toPage);
  expect(call.received).toEqual(sequence(pageSent));
  expect(atPage.received).toEqual(sequence(call.sent()));
}

const pastTheHold = (): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, PAST_THE_HOLD_MS));

describe('a call between a page and a Node peer survives its signalling', () => {
  let browser: Browser;
  let host: SdkPageHost;

  beforeAll(async () => {
    browser = await launchChromium();
    host = await startSdkPageHost();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });

  async function server(port = 0): Promise<RunningServer> {
    const running = await startCallServer(port);
    cleanups.push(() => running.close());
    return running;
  }

  it('the server restarts mid-call', async () => {
    const first = await server();
    const call = await startCall(browser, host, { page: first.url, node: first.url }, 'restart');
    await first.close();
    const second = await server(first.port);
    expect(second.port).toBe(first.port);
    await waitFor(
      'the page joined again',
      () => snapshot(call.page),
      (seen) => seen.reconnects > 0 && seen.state === 'joined',
    );
    await until(() => call.reconnects() > 0 && call.node.state === 'joined', 'Node joined again');
    await pastTheHold();
    await expectUntouched(call);
  });

  it('a run of 3-second tokens', async () => {
    const running = await server();
    const urls = { page: running.url, node: running.url };
    const call = await startCall(browser, host, urls, 'tokens', 3);
    // Tokens expire every 3 s; the server offers in-band refresh, so over more than three
    // lifetimes neither side may even reconnect (without a refresh each expiry closes with 4002).
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const seen = await snapshot(call.page);
    expect([seen.reconnects, seen.state], 'reconnects and state of the page').toEqual([
      0,
      'joined',
    ]);
    expect([call.reconnects(), call.node.state], 'reconnects and state of Node').toEqual([
      0,
      'joined',
    ]);
    await expectUntouched(call);
  });

  it("the page's link is cut for a moment", async () => {
    const running = await server();
    const relay = await FaultProxy.start(running.port);
    cleanups.push(() => relay.close());
    const call = await startCall(browser, host, { page: relay.url, node: running.url }, 'blip');
    relay.dropAll();
    await waitFor(
      'the page joined again',
      () => snapshot(call.page),
      (seen) => seen.reconnects === 1 && seen.state === 'joined',
    );
    await pastTheHold();
    expect(call.reconnects(), 'reconnects of the Node peer').toBe(0);
    await expectUntouched(call);
  });
});
