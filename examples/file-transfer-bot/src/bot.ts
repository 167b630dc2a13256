import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DataChannel } from '@metered/datachannel';
import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import { DataChannelOpened, FatalError, MeteredPeer, PeerJoined, PeerLeft } from '@metered/peer';
import { WebSocket } from 'ws';
import { mintToken, type SecretKey } from './token.js';
import { receiveFile, sendReceipt, type ReceivedFile } from './transfer.js';

export interface BotOptions {
  readonly url: string;
  readonly secretKey: SecretKey;
  readonly room: string;
  /** Where received files are saved. */
  readonly directory: string;
  /** The bot's peer id, which senders look for. Default `file-bot`. */
  readonly botId?: string;
  readonly log?: (line: string) => void;
  /** Called with each file saved. */
  readonly onFile?: (file: ReceivedFile, from: string, path: string) => void;
}

export interface Bot {
  readonly peer: MeteredPeer;
  close(): Promise<void>;
}

/** Makes a member's file name safe to save: no directories, nothing hidden. */
export function safeName(name: string): string {
  const cleaned = basename(name)
    .replace(/[^\w.\- ]+/g, '_')
    .replace(/^\.+/, '');
  return cleaned === '' ? 'file' : cleaned.slice(0, 200);
}

/**
 * Joins a room as a Node peer. Every data channel a member opens to the bot carries one file,
 * which the bot checks (SHA-256), saves, then acknowledges with a receipt.
 */
export async function startBot(options: BotOptions): Promise<Bot> {
  const botId = options.botId ?? 'file-bot';
  const log = options.log ?? (() => {});
  await mkdir(options.directory, { recursive: true });

  const peer = new MeteredPeer({
    url: options.url,
    tokenProvider: ({ signal }) =>
      mintToken(
        options.url,
        options.secretKey,
        { peerId: botId, channels: [options.room], peerMetadata: { kind: 'file-bot' } },
        signal,
      ),
    webSocketFactory: (url) => new WebSocket(url),
    // WebRTC on Node (node-datachannel).
    rtcPeerConnectionFactory,
  });

  const receive = async (from: string, channel: DataChannel): Promise<void> => {
    let lastQuarter = -1;
    try {
      const file = await receiveFile(channel, (received, total) => {
        const quarter = total === 0 ? 4 : Math.floor((received / total) * 4);
        if (quarter > lastQuarter) {
          lastQuarter = quarter;
          log(`${from}: ${received}/${total} bytes`);
        }
      });
      if (file.ok) {
        const path = join(options.directory, `${Date.now()}-${safeName(file.header.name)}`);
        await writeFile(path, file.bytes);
        log(`${from}: saved ${file.header.name} (${file.bytes.byteLength} bytes) as ${path}`);
        options.onFile?.(file, from, path);
      } else {
        log(`${from}: ${file.header.name} arrived damaged (SHA-256 mismatch), not saved`);
      }
      // Saved (or refused) before the receipt goes out: a receipt means the file is on disk.
      await sendReceipt(channel, file);
    } catch (error) {
      log(`${from}: transfer failed: ${String(error)}`);
    }
    // The sender closes the channel once it has the receipt.
  };

  peer.on(PeerJoined, ({ peer: remote }) => {
    log(`${remote.id} joined`);
    remote.on(
      DataChannelOpened,
      ({ channel }) => void receive(remote.id, new DataChannel(channel)),
    );
  });
  peer.on(PeerLeft, ({ peer: remote }) => log(`${remote.id} left`));
  peer.on(FatalError, ({ err }) => log(`fatal: ${String(err)}`));

  await peer.join(options.room);
  log(`${botId} is in ${options.room}, saving files to ${options.directory}`);
  return { peer, close: () => peer.close() };
}
