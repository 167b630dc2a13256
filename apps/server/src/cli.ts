#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  DEFAULT_CONFIG,
  DEV_CREDENTIALS,
  parseConfig,
  parseConfigText,
  type ServerConfig,
} from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

const USAGE = `usage: metered-server [--config FILE] [--port N] [--host H]

  --config FILE   JSON configuration (default: $METERED_CONFIG, else the embedded dev config)
  --port N        port to listen on (0 = any free port)
  --host H        address to bind
Signals: SIGHUP reloads the config file, SIGTERM/SIGINT shut down gracefully.`;

/** Exit code for bad arguments or an invalid configuration. */
const EXIT_INVALID_CONFIG = 2;

function fail(message: string, code: number): never {
  process.stderr.write(`metered-server: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let values: { config?: string; port?: string; host?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, EXIT_INVALID_CONFIG);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) {
      fail(
        `invalid --port "${values.port}": expected an integer from 0 to 65535`,
        EXIT_INVALID_CONFIG,
      );
    }
  }
  const configPath = values.config ?? (process.env.METERED_CONFIG || undefined);

  const loadConfig = (): ServerConfig => {
    if (configPath === undefined) return parseConfig(DEFAULT_CONFIG);
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (error) {
      throw new ConfigError([`(file): cannot read ${configPath} (${(error as Error).message})`]);
    }
    return parseConfigText(text);
  };
  const withOverrides = (config: ServerConfig): ServerConfig => ({
    ...config,
    ...(port !== undefined && { port }),
    ...(values.host !== undefined && { host: values.host }),
  });

  let config: ServerConfig;
  try {
    config = withOverrides(loadConfig());
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, EXIT_INVALID_CONFIG);
    throw error;
  }

  const logger = createLogger({
    level: process.env.METERED_LOG_LEVEL ?? 'info',
    destination: process.stderr,
  });
  const server = await startServer({ ...config, logger });
  process.on('SIGHUP', () => {
    if (configPath === undefined) {
      logger.info('SIGHUP: no config file to reload');
      return;
    }
    try {
      server.reload(withOverrides(loadConfig()));
    } catch (error) {
      logger.error({ err: error }, 'reload failed; keeping the previous configuration');
    }
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Announce only once the signal handlers are in place: a supervisor may signal right after
  // reading the first line.
  process.stdout.write(`listening on ${server.url}\n`);
  if (configPath === undefined) {
    process.stdout.write(
      [
        'no config file given: running the embedded development config',
        `  app id:          ${DEV_CREDENTIALS.appId}`,
        `  publishable key: ${DEV_CREDENTIALS.publishableKey}`,
        `  secret key id:   ${DEV_CREDENTIALS.secretKeyId}`,
        `  secret key:      ${DEV_CREDENTIALS.secretKey}`,
        '',
      ].join('\n'),
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`metered-server: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
