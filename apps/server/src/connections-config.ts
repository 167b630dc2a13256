import { z } from 'zod';

// The `connections` section of the configuration file: what one node lets clients make it hold.
// Node-wide (not per app): every app's sockets share the node's memory and file descriptors.

/** Default of `connections.maxOutboundBytes`: what every socket's unsent bytes may add up to. */
const DEFAULT_MAX_OUTBOUND_BYTES = 256 * 1024 * 1024;

export const connectionsSchema = z
  .object({
    maxPerAddress: z
      .number()
      .int()
      .positive()
      .default(256)
      .describe(
        'Open WebSocket sockets per client address on this node (an IPv4 address; IPv6 addresses counted per /64), from the upgrade until the socket closes. One more is refused with HTTP 429 before the upgrade. The address is the one `trustedProxyHops` designates.',
      ),
    maxPendingUpgrades: z
      .number()
      .int()
      .positive()
      .default(1024)
      .describe(
        'Upgrades this node has received but not yet answered with `welcome` (authenticating, or waiting on the broker). One more is refused with HTTP 503 before the upgrade.',
      ),
    maxPendingUpgradesPerAddress: z
      .number()
      .int()
      .positive()
      .default(64)
      .describe(
        'Of those, per client address (IPv6: per /64). One more is refused with HTTP 429 before the upgrade.',
      ),
    pendingUpgradeTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(300_000)
      .default(10_000)
      .describe(
        'A socket not welcomed this long after its upgrade arrived is destroyed (the client sees the connection drop, 1006, and reconnects). Protocol v1 clients give up on an attempt after 10 s without `welcome`.',
      ),
    maxOutboundBytes: z
      .number()
      .int()
      .min(65_536)
      .default(DEFAULT_MAX_OUTBOUND_BYTES)
      .describe(
        'What the unsent bytes of every socket of this node (`ws.bufferedAmount`) may add up to; a fan-out frame waiting on several sockets counts once for each. Over it, sockets are dropped until the sum is back under it: first those already closing that still hold bytes, then the slowest consumers, the socket holding the most first, each closed as a slow consumer (1008, as the per-socket bound `maxOutboundBufferBytes`) and its TCP connection ended at once so that what it held is freed now (its client, behind on reading, sees the connection drop, 1006, and reconnects).',
      ),
    maxQueuedInboundBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024)
      .describe(
        "Bytes of a socket's frames waiting on the broker (a slow Redis): queued behind one it has not answered yet, and publishes and sends made to it and not answered yet (the Redis broker takes a socket's publishes and sends without waiting for each reply). A frame that would take the waiting frames past this, or past twice the app's `messageBurst`, closes the socket with 1013 (try again later); one frame may always wait, whatever its size.",
      ),
  })
  .strict()
  .describe(
    'Limits of this node against exhaustion: sockets per address, half-open upgrades, memory held for slow consumers and slow brokers.',
  );
