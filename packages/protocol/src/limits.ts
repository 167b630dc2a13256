/** The protocol's default limits (the hosted service's values); a server may configure its own. */
export const PROTOCOL_LIMITS = Object.freeze({
  /** Largest frame a client may send, in bytes; advertised as `welcome.maxMessageSize`. */
  maxMessageSize: 65_536,
  /** Largest text frame a client accepts from a server, in UTF-16 code units. */
  maxServerFrameLength: 1_048_576,
  maxChannelsPerConnection: 100,
  maxChannelNameBytes: 256,
  maxPeerIdBytes: 128,
  maxRequestIdLength: 128,
  messagesPerSecond: 100,
  messageBurst: 200,
  connectAttemptsPerIpPerMinute: 60,
  maxPeerMetadataBytes: 4_096,
  maxMetadataBytes: 8_192,
  maxIceServers: 16,
  maxIceServerUrlLength: 512,
  maxIceServerCredentialLength: 1_024,
});

/** The protocol's fixed client timers, in milliseconds. */
export const PROTOCOL_TIMEOUTS = Object.freeze({
  /** From socket creation to `welcome`. */
  welcomeTimeoutMs: 10_000,
  /** From a request on the wire to its `ack` or `error`. */
  ackTimeoutMs: 15_000,
  /** Default client inactivity watchdog; the keepalive ping fires at a third of it. */
  inactivityTimeoutMs: 60_000,
});

/** Channel prefixes only the service may use, matched case-insensitively. */
export const RESERVED_CHANNEL_PREFIXES = ['_metered/', '_internal/', '_system/'] as const;
