import type { AppConfig, PublishableKeyConfig, SecretKeyConfig, ServerConfig } from './config.js';

/** Credential lookups over the configured apps; replaced as a whole on reload. */
export class AppRegistry {
  readonly apps: ReadonlyMap<string, AppConfig>;
  private readonly publishableKeys = new Map<
    string,
    { app: AppConfig; key: PublishableKeyConfig }
  >();
  private readonly secretKeys = new Map<string, { app: AppConfig; key: SecretKeyConfig }>();

  constructor(config: ServerConfig) {
    const apps = new Map<string, AppConfig>();
    for (const app of config.apps) {
      apps.set(app.id, app);
      for (const key of app.publishableKeys) this.publishableKeys.set(key.key, { app, key });
      for (const key of app.secretKeys) this.secretKeys.set(key.id, { app, key });
    }
    this.apps = apps;
  }

  app(appId: string): AppConfig | undefined {
    return this.apps.get(appId);
  }

  publishableKey(key: string): { app: AppConfig; key: PublishableKeyConfig } | undefined {
    return this.publishableKeys.get(key);
  }

  secretKey(id: string): { app: AppConfig; key: SecretKeyConfig } | undefined {
    return this.secretKeys.get(id);
  }
}
