import { redactSecrets } from '@metered/errors';
import { pino, type DestinationStream, type Logger } from 'pino';

/** Fields that never reach a log line in clear. */
export const REDACTED_PATHS = [
  'secret',
  '*.secret',
  'token',
  '*.token',
  'key',
  '*.key',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'credential',
  '*.credential',
];

/** A structured logger with secrets redacted, both by field path and inside free text. */
export function createLogger(
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'metered-server' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((argument) =>
              typeof argument === 'string' ? redactSecrets(argument) : argument,
            ) as Parameters<typeof method>,
          );
        },
      },
    },
    options.destination,
  );
}

/** The logger tests and embedders get by default: silent. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Request URLs as they may be logged: `key=` / `token=` values removed. */
export function loggableUrl(url: string | undefined): string {
  return redactSecrets(url ?? '');
}
