export {
  startServer,
  SERVER_DEFAULTS,
  type StartServerOptions,
  type ServerHooks,
  type RunningServer,
} from './server.js';
export {
  parseConfig,
  parseConfigText,
  ConfigError,
  DEFAULT_CONFIG,
  DEV_CREDENTIALS,
  serverConfigSchema,
  type ServerConfig,
  type ServerConfigInput,
  type AppConfig,
  type AppLimits,
  type AppPlan,
  type AppTokenRules,
  type ExtensionsConfig,
  type ResumeConfig,
  type PublishableKeyConfig,
  type SecretKeyConfig,
} from './config.js';
export {
  OVER_QUOTA,
  isPromise,
  type Broker,
  type BrokerConnection,
  type MaybePromise,
  type SubscribeOptions,
  type ChannelMessage,
  type DirectMessage,
  type QuotaClaim,
  type QuotaResult,
  type PeerRevocation,
  type AppUsage,
  type HoldOptions,
  type HeldIdentity,
  type ClaimedSession,
} from './broker/broker.js';
export { MemoryBroker, type MemoryBrokerOptions } from './broker/memory/memory-broker.js';
export {
  DUPLICATE,
  type HistoryEntry,
  type HistoryPage,
  type HistoryPolicy,
  type IdempotencyClaim,
  type Recovery,
} from './history/history-types.js';
export {
  RedisBroker,
  REDIS_BROKER_DEFAULTS,
  type RedisBrokerOptions,
} from './broker/redis/redis-broker.js';
export {
  BrokerUnavailableError,
  BROKER_UNAVAILABLE_CLOSE_CODE,
} from './broker/broker-unavailable.js';
export { PresenceRoster, type RosterChange } from './broker/memory/presence-roster.js';
export { ChannelScope, patternIncludes } from './channel-scope.js';
export { signToken, TOKEN_EXPIRY_MARGIN_MS, type TokenClaimsInput } from './auth.js';
export { SLOW_CONSUMER_CLOSE_CODE } from './connection.js';
export type { OutboundFrame } from './outbound.js';
export { ServerMetrics } from './metrics.js';
export { createLogger } from './logger.js';
export { MAX_REST_BODY_BYTES, TOKEN_LIFETIME } from './rest-api.js';
