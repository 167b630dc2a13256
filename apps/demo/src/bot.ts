import { DataChannel } from '@metered/datachannel';
import { rtcPeerConnectionFactory } from '@metered/node-webrtc-adapter';
import {
  DataChannelOpened,
  FatalError,
  MeteredPeer,
  PeerJoined,
  PeerLeft,
  type RemotePeer,
} from '@metered/peer';
import { Message, SignallingClient } from '@metered/signalling';
import { WebSocket } from 'ws';
import { FILE_CHANNEL_PREFIX, receiveFile, type ReceivedFile } from './file-transfer.js';
import { RestClient, type SecretKey } from './rest-client.js';

/** Options of {@link startBot}. */
export interface BotOptions {
  /** The room to join, as the page names it (`lobby`), or its chat channel (`demo/lobby`). */
  readonly room: string;
  /** The realtime server, `ws://host:port`. */
  readonly serverUrl: string;
  readonly name?: string | undefined;
  readonly colour?: string | undefined;
  /** The secret key tokens are minted with. Default: the embedded development key. */
  readonly secretKey?: SecretKey | undefined;
  /** Where progress bars and the log go. Default `process.stderr`. */
  readonly output?: NodeJS.WritableStream | undefined;
  /** Called with each file received and checked. */
  readonly onFile?: ((file: ReceivedFile, from: string) => void) | undefined;
}

export interface RunningBot {
  readonly peerId: string;
  readonly peer: MeteredPeer;
  /** Leaves the room and closes the connection. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A chat message on the wire, as the page sends it. */
interface ChatPayload {
  readonly text: string;
}

const BAR_WIDTH = 30;

function roomOf(value: string): string {
  return value.replace(/^demo\//, '').replace(/\/rtc$/, '');
}

function nameOf(metadata: Readonly<Record<string, unknown>> | null, fallback: string): string {
  return typeof metadata?.name === 'string' ? metadata.name : fallback;
}

/** `[#########---------------------]  30%  96.0/320.0 KiB` */
export function progressBar(done: number, total: number): string {
  const ratio = total === 0 ? 1 : Math.min(done / total, 1);
  const filled = Math.round(ratio * BAR_WIDTH);
  const percent = `${Math.round(ratio * 100)}%`.padStart(4);
  const kib = (bytes: number): string => (bytes / 1024).toFixed(1);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${percent}  ${kib(done)}/${kib(total)} KiB`;
}

/** The bot's answer to a chat line. */
export function answerTo(text: string, from: string): string {
  const line = text.trim();
  if (/^ping\b/i.test(line)) return 'pong';
  if (/^(hi|hello|hey)\b/i.test(line))
    return `Hello ${from}! Send me a file from the peer-to-peer panel.`;
  return `${from} said "${line.slice(0, 200)}" (${[...line].length} characters)`;
}

/**
 * Joins a demo room as a Node peer: in the chat channel it answers every message, and on the
 * WebRTC channel (through node-datachannel) it receives files over data channels, showing a
 * progress bar and checking their SHA-256.
 */
export async function startBot(options: BotOptions): Promise<RunningBot> {
  const room = roomOf(options.room);
  const name = options.name ?? 'Bot';
  const colour = options.colour ?? '#0f766e';
  const output = options.output ?? process.stderr;
  const write = (line: string): void => void output.write(`${line}\n`);
  const rest = new RestClient(options.serverUrl, options.secretKey);
  const peerId = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-') || 'bot'}-${Math.random().toString(16).slice(2, 8)}`;
  const chatChannel = `demo/${room}`;

  const client = new SignallingClient({
    url: options.serverUrl,
    tokenProvider: async ({ signal }) =>
      (await rest.mintToken({ peerId, peerMetadata: { name, colour } }, signal)).token,
    webSocketFactory: (url) => new WebSocket(url),
  });
  const peer = new MeteredPeer({
    signallingClient: client,
    rtcPeerConnectionFactory,
  });

  const receive = async (remote: RemotePeer, channel: DataChannel): Promise<void> => {
    const from = nameOf(remote.metadata, remote.id);
    const interactive = 'isTTY' in output && output.isTTY === true;
    let lastPercent = -1;
    try {
      const file = await receiveFile(channel, {
        onHeader: (header) => write(`receiving ${header.name} (${header.size} bytes) from ${from}`),
        onProgress: (done, total) => {
          const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
          if (interactive) {
            output.write(`\r${progressBar(done, total)}`);
          } else if (percent >= lastPercent + 25 || done === total) {
            lastPercent = percent;
            write(progressBar(done, total));
          }
        },
      });
      if (interactive) output.write('\n');
      write(
        `${file.ok ? 'received' : 'CHECKSUM MISMATCH'} ${file.header.name}: sha256 ${file.sha256}`,
      );
      options.onFile?.(file, remote.id);
      await client
        .publish(chatChannel, {
          text: file.ok
            ? `Got ${file.header.name} from ${from} (${file.bytes.byteLength} bytes), SHA-256 matches.`
            : `Got ${file.header.name} from ${from}, but the SHA-256 does not match.`,
        } satisfies ChatPayload)
        .catch(() => {});
    } catch (error) {
      write(`transfer from ${from} failed: ${String(error)}`);
    } finally {
      channel.close();
    }
  };

  peer.on(PeerJoined, ({ peer: remote }) => {
    write(`${nameOf(remote.metadata, remote.id)} is on the data plane`);
    remote.on(DataChannelOpened, ({ channel }) => {
      const label = (channel as { label?: string }).label ?? '';
      if (label.startsWith(FILE_CHANNEL_PREFIX)) void receive(remote, new DataChannel(channel));
    });
  });
  peer.on(PeerLeft, ({ peer: remote }) => write(`${nameOf(remote.metadata, remote.id)} left`));
  peer.on(FatalError, ({ err }) => write(`fatal: ${String(err)}`));
  client.on(Message, (event) => {
    if (event.channel !== chatChannel || event.senderPeerId === peerId) return;
    const data = event.data as Partial<ChatPayload> | null;
    if (typeof data?.text !== 'string') return;
    const from = nameOf(event.senderMetadata, event.senderPeerId);
    write(`${from}: ${data.text.slice(0, 200)}`);
    client.publish(chatChannel, { text: answerTo(data.text, from) }).catch((error: unknown) => {
      write(`reply failed: ${String(error)}`);
    });
  });

  try {
    await peer.join(`${chatChannel}/rtc`);
    await client.subscribe(chatChannel, { includeSenderMetadata: true });
  } catch (error) {
    await peer.close();
    throw error;
  }
  write(`${name} joined room "${room}" as ${peerId}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= peer.close();
    return closing;
  };
  return { peerId, peer, close, [Symbol.asyncDispose]: close };
}
