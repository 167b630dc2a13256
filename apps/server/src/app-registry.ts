import type { Permission } from '@metered/protocol';
import { ChannelScope } from './channel-scope.js';
import type { AppConfig, PublishableKeyConfig, SecretKeyConfig, ServerConfig } from './config.js';

/**
 * A key with what every connection made through it shares: its compiled channel scope and its
 * set of actions, built once per configuration instead of once per connection.
 */
export interface RegisteredKey<K> {
  readonly app: AppConfig;
  readonly key: K;
  readonly scope: ChannelScope;
  readonly permissions: ReadonlySet<Permission>;
}

function register<K extends { channelPatterns: readonly string[]; actions: readonly Permission[] }>(
  app: AppConfig,
  key: K,
): RegisteredKey<K> {
  return {
    app,
    key,
    scope: new ChannelScope(key.channelPatterns),
    permissions: new Set(key.actions),
  };
}

/** Credential lookups over the configured apps; replaced as a whole on reload. */
export class AppRegistry {
  readonly apps: ReadonlyMap<string, AppConfig>;
  private readonly publishableKeys = new Map<string, RegisteredKey<PublishableKeyConfig>>();
  private readonly secretKeys = new Map<string, RegisteredKey<SecretKeyConfig>>();

  constructor(config: ServerConfig) {
    const apps = new Map<string, AppConfig>();
    for (const app of config.apps) {
      apps.set(app.id, app);
      for (const key of app.publishableKeys) this.publishableKeys.set(key.key, register(app, key));
      for (const key of app.secretKeys) this.secretKeys.set(key.id, register(app, key));
    }
    this.apps = apps;
  }

  app(appId: string): AppConfig | undefined {
    return this.apps.get(appId);
  }

  publishableKey(key: string): RegisteredKey<PublishableKeyConfig> | undefined {
    return this.publishableKeys.get(key);
  }

  secretKey(id: string): RegisteredKey<SecretKeyConfig> | undefined {
    return this.secretKeys.get(id);
  }
}
