import {
  MeteredRealtimeError,
  type MeteredRealtimeErrorOptions,
} from './metered-realtime-error.js';

/** Codes of {@link MeteredPeerSendError}. */
export type MeteredPeerSendErrorCode =
  'reserved_channel' | 'not_joined' | 'invalid_args' | 'self_send';

/** Options of {@link MeteredPeerSendError}. */
export interface MeteredPeerSendErrorOptions extends MeteredRealtimeErrorOptions {
  readonly code: MeteredPeerSendErrorCode;
}

/** `peer.send`, `peer.sendTo`, `peer.join` or `remote.send` refused its state or arguments. */
export class MeteredPeerSendError extends MeteredRealtimeError {
  declare readonly code: MeteredPeerSendErrorCode;

  constructor(options: MeteredPeerSendErrorOptions) {
    super(options, `send refused: ${options.code}`);
  }

  override get name(): 'MeteredPeerSendError' {
    return 'MeteredPeerSendError';
  }
}

/** Options of {@link MeteredPeerOversizedError}. */
export interface MeteredPeerOversizedErrorOptions extends MeteredRealtimeErrorOptions {
  /** Serialised UTF-8 byte length of the attempted payload. */
  readonly size: number;
  /** The server's cap in bytes. */
  readonly cap: number;
}

/** A peer-layer payload or metadata bag is larger than the server's cap; nothing was sent. */
export class MeteredPeerOversizedError extends MeteredRealtimeError {
  declare readonly size: number;
  declare readonly cap: number;

  constructor(options: MeteredPeerOversizedErrorOptions) {
    super(options, `payload of ${options.size} B over the cap of ${options.cap} B`);
  }

  override get name(): 'MeteredPeerOversizedError' {
    return 'MeteredPeerOversizedError';
  }
}

/** Codes of {@link MeteredPeerStateError}. */
export type MeteredPeerStateErrorCode = 'invalid_state' | 'track_already_attached';

/** The `MeteredPeer` methods that raise {@link MeteredPeerStateError}. */
export type MeteredPeerStateErrorMethod =
  'add_stream' | 'add_track' | 'remove_stream' | 'remove_track' | 'replace_track' | 'join';

/** Options of {@link MeteredPeerStateError}. */
export interface MeteredPeerStateErrorOptions extends MeteredRealtimeErrorOptions {
  readonly code: MeteredPeerStateErrorCode;
  readonly method: MeteredPeerStateErrorMethod;
  readonly currentState: string | null;
}

/** A media or join call came in the wrong lifecycle state, or a track was attached twice. */
export class MeteredPeerStateError extends MeteredRealtimeError {
  declare readonly code: MeteredPeerStateErrorCode;
  declare readonly method: MeteredPeerStateErrorMethod;
  declare readonly currentState: string | null;

  constructor(options: MeteredPeerStateErrorOptions) {
    super(
      options,
      `${options.method} refused: ${options.code} (state ${options.currentState ?? 'unknown'})`,
    );
  }

  override get name(): 'MeteredPeerStateError' {
    return 'MeteredPeerStateError';
  }
}

/** One peer on which `replaceTrack` failed, and why. */
export interface ReplaceTrackFailure {
  readonly peerId: string;
  readonly err: unknown;
}

/** Options of {@link MeteredPeerReplaceTrackError}. */
export interface MeteredPeerReplaceTrackErrorOptions extends MeteredRealtimeErrorOptions {
  readonly succeeded: readonly string[];
  readonly failed: readonly ReplaceTrackFailure[];
}

/** `replaceTrack` succeeded on some peers and failed on others. */
export class MeteredPeerReplaceTrackError extends MeteredRealtimeError {
  /** Peer ids already on the new track. */
  declare readonly succeeded: readonly string[];
  /** Peers still on the old track. */
  declare readonly failed: readonly ReplaceTrackFailure[];

  constructor(options: MeteredPeerReplaceTrackErrorOptions) {
    super(
      {
        ...options,
        succeeded: Object.freeze([...options.succeeded]),
        failed: Object.freeze([...options.failed]),
      } satisfies MeteredPeerReplaceTrackErrorOptions as MeteredRealtimeErrorOptions,
      `replaceTrack failed on ${options.failed.length} peers`,
    );
  }

  override get name(): 'MeteredPeerReplaceTrackError' {
    return 'MeteredPeerReplaceTrackError';
  }
}
