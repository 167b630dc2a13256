import {
  SignallingClient as VendorClient,
  type SignallingClientEventMap as VendorEvents,
} from '@metered-ca/realtime';
import { Direct, Message, Presence } from '@metered/signalling';
import { createBrowserLikeWebSocketFactory } from '@metered/signalling/testing';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanUp, client, mintToken, next, start, track } from './harness.js';

afterEach(cleanUp);

/** Resolves with the vendor client's first event of that name that matches. */
function nextVendor<K extends keyof VendorEvents>(
  vendor: VendorClient,
  name: K,
  predicate: (payload: VendorEvents[K]) => boolean = () => true,
): Promise<VendorEvents[K]> {
  return new Promise((resolve) => {
    const handler = (payload: VendorEvents[K]): void => {
      if (!predicate(payload)) return;
      vendor.off(name, handler);
      resolve(payload);
    };
    vendor.on(name, handler);
  });
}

describe('our client and the vendor SDK on one channel', () => {
  it('exchange presence, messages and directs both ways', async () => {
    const server = await start();
    const ours = client(server, { tokenProvider: () => mintToken('ours') });
    const vendor = track(
      new VendorClient({
        url: server.url,
        tokenProvider: () => mintToken('vendor'),
        webSocketFactory: createBrowserLikeWebSocketFactory(WebSocket),
        reconnect: false,
      }),
    );
    await ours.connect();
    await vendor.connect();

    await ours.subscribe('shared');
    const oursSeesVendor = next(ours, Presence, (event) => event.joined.length > 0);
    const vendorSnapshot = nextVendor(vendor, 'presence');
    await vendor.subscribe('shared');
    expect((await vendorSnapshot).joined.map((peer) => peer.peerId)).toEqual(['ours']);
    expect((await oursSeesVendor).joined.map((peer) => peer.peerId)).toEqual(['vendor']);

    const vendorReceives = nextVendor(vendor, 'message');
    await ours.publish('shared', { from: 'ours' });
    expect(await vendorReceives).toMatchObject({
      channel: 'shared',
      from: 'ours',
      data: { from: 'ours' },
    });

    const oursReceives = next(ours, Message);
    await vendor.publish('shared', [1, 2, 3]);
    expect({ ...(await oursReceives) }).toEqual({
      channel: 'shared',
      senderPeerId: 'vendor',
      data: [1, 2, 3],
      senderMetadata: null,
      // The channel's place in its history (the server's `recovery` extension, on by default).
      offset: expect.any(Number),
      epoch: expect.any(String),
    });

    const vendorDirect = nextVendor(vendor, 'direct');
    await ours.send('vendor', 'psst');
    expect(await vendorDirect).toMatchObject({ from: 'ours', data: 'psst' });

    const oursDirect = next(ours, Direct);
    await vendor.send('ours', { reply: true });
    expect({ ...(await oursDirect) }).toMatchObject({
      senderPeerId: 'vendor',
      data: { reply: true },
    });

    const vendorSeesOursLeave = nextVendor(vendor, 'presence', (event) => event.left.length > 0);
    await ours.close();
    expect((await vendorSeesOursLeave).left.map((peer) => peer.peerId)).toEqual(['ours']);

    const ours2 = client(server, { tokenProvider: () => mintToken('ours-again') });
    await ours2.connect();
    await ours2.subscribe('shared');
    const oursSeesVendorLeave = next(ours2, Presence, (event) => event.left.length > 0);
    await vendor.close();
    expect((await oursSeesVendorLeave).left.map((peer) => peer.peerId)).toEqual(['vendor']);
  });
});
