import type { WelcomeExtensions } from '@metered/protocol';
import type { ExtensionsConfig, ResumeConfig } from './config.js';

/** The server-level settings the extensions of `welcome` are built from. */
export interface ExtensionSettings {
  readonly extensions: ExtensionsConfig;
  readonly resume: ResumeConfig;
}

/**
 * `welcome.extensions`: one key per extension switched on, none at all (the key is omitted) when
 * every one is off, so that a server without extensions sends the plain v1 `welcome`.
 * `resumed` marks a connection that got a held session back.
 */
export function welcomeExtensions(
  settings: ExtensionSettings,
  resumed: boolean,
): WelcomeExtensions | undefined {
  const { extensions, resume } = settings;
  const result: {
    resume?: { windowMs: number; resumed?: true };
    refresh?: Record<string, never>;
  } = {};
  if (extensions.resume) {
    result.resume = resumed
      ? { windowMs: resume.windowMs, resumed: true }
      : { windowMs: resume.windowMs };
  }
  if (extensions.refresh) result.refresh = {};
  return Object.keys(result).length > 0 ? result : undefined;
}
