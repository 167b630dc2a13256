import { DataChannel } from '@metered/datachannel';
import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { MeteredPeer, PeerJoined } from '@metered/peer';
import { WebSocket } from 'ws';
import { mintToken, type SecretKey } from './token.js';
import { sendFile, type Receipt } from './transfer.js';

export interface SendOptions {
  readonly url: string;
  readonly secretKey: SecretKey;
  readonly room: string;
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The bot's peer id. Default `file-bot`. */
  readonly botId?: string;
  readonly onProgress?: (sent: number, total: number) => void;
}

/** Joins the room, waits for the bot, sends it one file and leaves; resolves with the receipt. */
export async function sendToBot(options: SendOptions): Promise<Receipt> {
  const botId = options.botId ?? 'file-bot';
  const peerId = `sender-${crypto.randomUUID().slice(0, 8)}`;
  const peer = new MeteredPeer({
    url: options.url,
    tokenProvider: ({ signal }) =>
      mintToken(options.url, options.secretKey, { peerId, channels: [options.room] }, signal),
    webSocketFactory: (url) => new WebSocket(url),
    rtcPeerConnectionFactory,
  });
  try {
    const botJoined = new Promise<void>((resolve) => {
      const off = peer.on(PeerJoined, ({ peer: remote }) => {
        if (remote.id !== botId) return;
        off();
        resolve();
      });
    });
    await peer.join(options.room);
    await botJoined;
    const bot = peer.remotePeers.get(botId);
    if (!bot) throw new Error(`${botId} left the room`);
    // Opening a data channel negotiates the peer connection to the bot.
    const channel = new DataChannel(bot.createDataChannel('file'));
    try {
      return await sendFile(channel, options.name, options.bytes, options.onProgress);
    } finally {
      channel.close();
    }
  } finally {
    await peer.close();
  }
}
