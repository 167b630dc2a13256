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
              typeof argument === 'string' ? redactLogText(argument) : argument,
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

/** Query parameter names whose values are credentials, however their letters are encoded. */
const SECRET_PARAMETERS = new Set(['token', 'key', 'secret', 'resume']);
/** The resume credential's parameter (`resume=`), which {@link redactSecrets} does not know. */
const RESUME_PARAMETER = /([?&]resume=)[^&\s"'#,}]+/gi;
/** A query parameter whose name holds a percent escape, with its value. */
const ENCODED_PARAMETER = /([?&])([^=&\s#]*%[0-9a-f]{2}[^=&\s#]*)=([^&\s"'#,}]*)/gi;

/**
 * {@link redactSecrets}, plus values of parameters whose names are percent-encoded
 * (`?%74oken=` is `?token=` to the server's query parser) and of the resume credential.
 */
export function redactLogText(text: string): string {
  return redactSecrets(
    text
      .replace(RESUME_PARAMETER, '$1[redacted]')
      .replace(ENCODED_PARAMETER, (parameter, separator: string, name: string) => {
        let decoded: string;
        try {
          decoded = decodeURIComponent(name.replace(/\+/g, ' '));
        } catch {
          return parameter;
        }
        return SECRET_PARAMETERS.has(decoded.toLowerCase())
          ? `${separator}${name}=[redacted]`
          : parameter;
      }),
  );
}

/** Request URLs as they may be logged: credential values (`key=`, `token=`, `resume=`, …) removed. */
export function loggableUrl(url: string | undefined): string {
  return redactLogText(url ?? '');
}
