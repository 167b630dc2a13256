// Module constants used by the validators, so that a bundle using one validator does not carry
// the whole limits object.
export const MAX_CHANNEL_NAME_BYTES = 256;
export const MAX_PEER_ID_BYTES = 128;
export const MAX_REQUEST_ID_LENGTH = 128;
/** Largest text frame a client accepts from a server, in UTF-16 code units. */
export const MAX_SERVER_FRAME_LENGTH = 1_048_576;
export const MAX_ICE_SERVERS = 16;
/** Longest `epoch` of a stream position (extension `recovery`). */
export const MAX_EPOCH_LENGTH = 64;
/** Longest token a `refresh` frame may carry (extension `refresh`). */
export const MAX_TOKEN_LENGTH = 16_384;
export const MAX_ICE_SERVER_URL_LENGTH = 512;
export const MAX_ICE_SERVER_CREDENTIAL_LENGTH = 1_024;
/** From socket creation to `welcome`, in milliseconds. */
export const WELCOME_TIMEOUT_MS = 10_000;
/** From a request on the wire to its `ack` or `error`, in milliseconds. */
export const ACK_TIMEOUT_MS = 15_000;
/** A client's default inactivity watchdog, in milliseconds; its keepalive ping fires at a third of it. */
export const INACTIVITY_TIMEOUT_MS = 60_000;

/** The protocol's default limits (the hosted service's values); a server may configure its own. */
export const PROTOCOL_LIMITS = /* @__PURE__ */ Object.freeze({
  /** Largest frame a client may send, in bytes; advertised as `welcome.maxMessageSize`. */
  maxMessageSize: 65_536,
  /** Largest text frame a client accepts from a server, in UTF-16 code units. */
  maxServerFrameLength: MAX_SERVER_FRAME_LENGTH,
  maxChannelsPerConnection: 100,
  maxChannelNameBytes: MAX_CHANNEL_NAME_BYTES,
  maxPeerIdBytes: MAX_PEER_ID_BYTES,
  maxRequestIdLength: MAX_REQUEST_ID_LENGTH,
  messagesPerSecond: 100,
  messageBurst: 200,
  connectAttemptsPerIpPerMinute: 60,
  maxPeerMetadataBytes: 4_096,
  maxMetadataBytes: 8_192,
  maxIceServers: MAX_ICE_SERVERS,
  maxIceServerUrlLength: MAX_ICE_SERVER_URL_LENGTH,
  maxIceServerCredentialLength: MAX_ICE_SERVER_CREDENTIAL_LENGTH,
});

/** The protocol's fixed client timers, in milliseconds. */
export const PROTOCOL_TIMEOUTS = /* @__PURE__ */ Object.freeze({
  /** From socket creation to `welcome`. */
  welcomeTimeoutMs: WELCOME_TIMEOUT_MS,
  /** From a request on the wire to its `ack` or `error`. */
  ackTimeoutMs: ACK_TIMEOUT_MS,
  /** Default client inactivity watchdog; the keepalive ping fires at a third of it. */
  inactivityTimeoutMs: INACTIVITY_TIMEOUT_MS,
});

/** Channel prefixes only the service may use, matched case-insensitively. */
export const RESERVED_CHANNEL_PREFIXES = ['_metered/', '_internal/', '_system/'] as const;
