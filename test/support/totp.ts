import { Secret, TOTP } from 'otpauth';

/** The code an authenticator app shows at an instant for a key (RFC 6238, 30 s, 6 digits), as the tests compute it. */
export function totpCodeAt(secret: string, at: Date): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), period: 30, digits: 6, timestamp: at.getTime() });
}
