// Authenticator apps: time-based one-time passwords (RFC 6238), six digits every 30 seconds, with
// HMAC-SHA1 as every app supports it (RFC 6238 §1.2).
import { Secret, TOTP } from 'otpauth';

const PERIOD_SECONDS = 30;
const DIGITS = 6;

/** A new shared secret: 160 random bits (RFC 4226 §4 R6), in base32 as apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The key URI an app reads from a QR code: `otpauth://totp/Issuer:account?secret=…&issuer=…`. */
export function otpauthUri(secret: string, names: { issuer: string; account: string }): string {
  return new TOTP({
    issuer: names.issuer,
    label: names.account,
    secret: Secret.fromBase32(secret),
    period: PERIOD_SECONDS,
    digits: DIGITS,
  }).toString();
}

/**
 * The time step a code belongs to, accepting one step either side for clock drift (RFC 6238 §5.2),
 * or undefined. The caller accepts each step once per factor (factor-store.ts spendTotpStep).
 */
export function stepOfCode(secret: string, code: string, now: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const timestamp = now.getTime();
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secret),
    period: PERIOD_SECONDS,
    digits: DIGITS,
    timestamp,
    window: 1,
  });
  return delta === null ? undefined : TOTP.counter({ period: PERIOD_SECONDS, timestamp }) + delta;
}
