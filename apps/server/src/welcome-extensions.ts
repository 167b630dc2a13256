import type { WelcomeExtensions } from '@metered/protocol';
import type { AppConfig, ResumeConfig } from './config.js';
import type { ExtensionsConfig } from './extensions-config.js';

/** The server-level settings the extensions of `welcome` are built from. */
export interface ExtensionSettings {
  readonly extensions: ExtensionsConfig;
  readonly resume: ResumeConfig;
}

/**
 * `welcome.extensions` for an app on a server with these settings: one key per extension switched
 * on, none at all (the key is omitted) when every one is off, so that a server without extensions
 * sends the plain v1 `welcome`, byte for byte. `resumed` marks a connection that got a held
 * session back.
 */
export function welcomeExtensions(
  settings: ExtensionSettings,
  app: AppConfig,
  resumed: boolean,
): WelcomeExtensions | undefined {
  const { extensions, resume } = settings;
  const result: { -readonly [K in keyof WelcomeExtensions]: WelcomeExtensions[K] } = {};
  if (extensions.recovery) result.recovery = {};
  if (extensions.resume) {
    result.resume = resumed
      ? { windowMs: resume.windowMs, resumed: true }
      : { windowMs: resume.windowMs };
  }
  if (extensions.refresh) result.refresh = {};
  if (extensions.idempotency) result.idempotency = { windowMs: app.idempotency.windowMs };
  return Object.keys(result).length === 0 ? undefined : result;
}
