import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * JSON logs. Nothing secret is ever passed to the logger; the redaction below is a second line of
 * defence for fields that must never appear even by mistake.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'token-issuer' },
      redact: {
        paths: [
          'password',
          'secret',
          'client_secret',
          'access_token',
          'refresh_token',
          'token',
          'authorization',
          'privateJwk',
          '*.password',
          '*.secret',
          '*.client_secret',
          '*.access_token',
          '*.refresh_token',
          '*.token',
          '*.authorization',
          '*.privateJwk',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
