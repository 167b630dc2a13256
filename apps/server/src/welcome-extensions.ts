import type { WelcomeExtensions } from '@metered/protocol';
import type { AppConfig } from './config.js';
import type { ExtensionsConfig } from './extensions-config.js';

/**
 * The extensions a `welcome` advertises, for an app on a server with these switches; undefined
 * when every one is off (the `welcome` of plain protocol v1, byte for byte).
 */
export function welcomeExtensions(
  switches: ExtensionsConfig,
  app: AppConfig,
): WelcomeExtensions | undefined {
  const extensions: { -readonly [K in keyof WelcomeExtensions]: WelcomeExtensions[K] } = {};
  if (switches.recovery) extensions.recovery = {};
  if (switches.idempotency) extensions.idempotency = { windowMs: app.idempotency.windowMs };
  return Object.keys(extensions).length === 0 ? undefined : extensions;
}
