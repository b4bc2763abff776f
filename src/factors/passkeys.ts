// Passkeys (WebAuthn Level 3, through @simplewebauthn/server): registered by a signed-in user, then
// a sign-in of their own (user verification required: something the user has, unlocked by
// something they know or are) or a second factor after the password. The relying party is the
// issuer: its host is the RP ID and its origin the only one accepted. Every challenge is used once
// and is bound to the registration or the pending sign-in that asked for it (passkey-store.ts).
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { z } from 'zod';
import { recordAuditEvent } from '../audit/audit-log.js';
import { invalidPasskey } from '../errors.js';
import type { AuthenticationMethod } from './authentication-methods.js';
import {
  findPasskeyByCredential,
  insertChallenge,
  insertPasskey,
  listPasskeys,
  recordPasskeyUse,
  spendChallenge,
} from './passkey-store.js';
import { addFactor, type FactorAddedFrom, type FactorDependencies, type FactorOwner, type FactorSummary } from './second-factors.js';

/** The WebAuthn library, loaded with the first ceremony: an instance that only issues tokens never pays its memory. */
const webauthn = () => import('@simplewebauthn/server');

/** The issuer as a WebAuthn relying party. */
export interface RelyingParty {
  /** The RP ID: the issuer's host name (WebAuthn §5.1.2; an IP address cannot be one). */
  id: string;
  /** The only origin whose ceremonies count: the issuer's. */
  origin: string;
  /** What authenticators show: ISSUER_DISPLAY_NAME. */
  name: string;
}

export const relyingPartyOf = (issuer: string, name: string): RelyingParty => {
  const url = new URL(issuer);
  return { id: url.hostname, origin: url.origin, name };
};

export interface PasskeyDependencies extends FactorDependencies {
  relyingParty: RelyingParty;
}

/** How long a registration may take; a sign-in's challenge lives as long as its pending request. */
const REGISTRATION_SECONDS = 300;

/**
 * The answer of `navigator.credentials.create()` or `.get()`, as `PublicKeyCredential.toJSON()`
 * gives it: checked for shape here, for everything else by the library.
 */
const base64url = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/)
  .max(16_384);
const credentialShape = {
  id: base64url.max(1_366),
  rawId: base64url.max(1_366),
  type: z.literal('public-key'),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};
const registrationResponse = z.object({
  ...credentialShape,
  response: z.object({
    clientDataJSON: base64url,
    attestationObject: base64url,
    transports: z.array(z.string().max(32)).max(8).optional(),
  }),
});
const authenticationResponse = z.object({
  ...credentialShape,
  response: z.object({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.optional(),
  }),
});

/** Options for `navigator.credentials.create()`: a discoverable credential with user verification. */
export async function passkeyRegistrationOptions(
  deps: PasskeyDependencies,
  user: FactorOwner,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await listPasskeys(deps.db, user.id);
  const options = await (
    await webauthn()
  ).generateRegistrationOptions({
    rpName: deps.relyingParty.name,
    rpID: deps.relyingParty.id,
    userName: user.username,
    userDisplayName: user.username,
    // The user handle names no one outside the issuer: the account's id, not its name or email.
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  const expiresAt = new Date(deps.now().getTime() + REGISTRATION_SECONDS * 1000);
  await insertChallenge(deps.db, { challenge: options.challenge, purpose: 'register', userId: user.id, expiresAt });
  return options;
}

/**
 * Stores the passkey the browser created for the user's open registration. Like any new factor,
 * the first comes with recovery codes and ends the user's other sessions (second-factors.ts).
 */
export async function registerPasskey(
  deps: PasskeyDependencies,
  user: FactorOwner,
  registration: FactorAddedFrom & { response: unknown; name: string },
): Promise<{ passkey: FactorSummary; recoveryCodes?: string[] }> {
  const parsed = registrationResponse.safeParse(registration.response);
  if (!parsed.success) throw invalidPasskey('the registration is not a WebAuthn credential');
  const response = parsed.data as RegistrationResponseJSON;
  const challenge = challengeOf(response.response.clientDataJSON);
  if (!challenge || !(await spendChallenge(deps.db, challenge, { purpose: 'register', userId: user.id }, deps.now()))) {
    throw invalidPasskey('no registration is open for this answer: ask for new options');
  }
  const verified = await (
    await webauthn()
  )
    .verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: deps.relyingParty.origin,
      expectedRPID: deps.relyingParty.id,
      requireUserVerification: true,
    })
    .catch(() => undefined);
  if (!verified?.verified) throw invalidPasskey('the passkey could not be verified');
  const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
  if (await findPasskeyByCredential(deps.db, credential.id)) throw invalidPasskey('this passkey is registered already');

  let stored: FactorSummary | undefined;
  const recoveryCodes = await addFactor(deps, user, { kind: 'passkey', name: registration.name }, registration, async (tx) => {
    const row = await insertPasskey(tx, {
      userId: user.id,
      name: registration.name,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
      deviceType: credentialDeviceType,
      backedUp: credentialBackedUp,
    });
    stored = { id: row.id, kind: 'passkey', name: row.name, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt };
  });
  return { passkey: stored!, ...(recoveryCodes ? { recoveryCodes } : {}) };
}

/**
 * Options for `navigator.credentials.get()` at a pending sign-in: any passkey of this issuer, with
 * user verification, for a sign-in with a passkey alone; the user's own passkeys for a second
 * factor (undefined when they have none).
 */
export async function passkeySignInOptions(
  deps: PasskeyDependencies,
  pending: { id: string; expiresAt: Date },
  secondFactorOf?: string,
): Promise<PublicKeyCredentialRequestOptionsJSON | undefined> {
  const allowed = secondFactorOf ? await listPasskeys(deps.db, secondFactorOf) : [];
  if (secondFactorOf && allowed.length === 0) return undefined;
  const options = await (
    await webauthn()
  ).generateAuthenticationOptions({
    rpID: deps.relyingParty.id,
    allowCredentials: allowed.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports })),
    userVerification: secondFactorOf ? 'preferred' : 'required',
  });
  await insertChallenge(deps.db, {
    challenge: options.challenge,
    purpose: 'sign-in',
    requestId: pending.id,
    ...(secondFactorOf ? { userId: secondFactorOf } : {}),
    expiresAt: pending.expiresAt,
  });
  return options;
}

/**
 * Checks a passkey's answer for a pending sign-in: the challenge (spent first, so an answer is
 * never tried twice), the credential (the user's own, for a second factor), origin, RP ID,
 * signature, counter and, for a sign-in with the passkey alone, user verification. Returns whose
 * it is and how they authenticated (RFC 8176: `hwk` for a key bound to one device, `swk` for a
 * synced one; with user verification, a multi-factor sign-in by itself). Throws `invalid_passkey`.
 */
export async function verifyPasskeySignIn(
  deps: PasskeyDependencies,
  answer: { response: unknown; requestId: string; secondFactorOf?: string | undefined },
  context: { clientId?: string | undefined; ipAddress: string | undefined },
): Promise<{ userId: string; amr: AuthenticationMethod[] }> {
  const parsed = authenticationResponse.safeParse(answer.response);
  if (!parsed.success) throw invalidPasskey('the answer is not a WebAuthn assertion');
  const response = parsed.data as AuthenticationResponseJSON;
  const now = deps.now();
  const challenge = challengeOf(response.response.clientDataJSON);
  const bound = { purpose: 'sign-in' as const, requestId: answer.requestId, userId: answer.secondFactorOf };
  if (!challenge || !(await spendChallenge(deps.db, challenge, bound, now))) {
    throw invalidPasskey('this sign-in did not ask for this answer, or it was used already');
  }
  const passkey = await findPasskeyByCredential(deps.db, response.id);
  const refuse = async () => {
    if (passkey)
      await recordAuditEvent(deps.db, deps, {
        type: 'second_factor_failed',
        userId: passkey.userId,
        ...context,
        details: { kind: 'passkey' },
      });
    return invalidPasskey('the passkey could not be verified');
  };
  if (!passkey || (answer.secondFactorOf && passkey.userId !== answer.secondFactorOf)) throw await refuse();
  const passwordless = !answer.secondFactorOf;
  const verified = await (
    await webauthn()
  )
    .verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: deps.relyingParty.origin,
      expectedRPID: deps.relyingParty.id,
      credential: {
        id: passkey.credentialId,
        publicKey: Buffer.from(passkey.publicKey, 'base64url'),
        counter: passkey.counter,
        transports: passkey.transports as never,
      },
      requireUserVerification: passwordless,
    })
    .catch(() => undefined);
  if (!verified?.verified) throw await refuse();
  const info = verified.authenticationInfo;
  await recordPasskeyUse(deps.db, passkey.id, { counter: info.newCounter, backedUp: info.credentialBackedUp, at: now });
  const key: AuthenticationMethod = passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk';
  return { userId: passkey.userId, amr: passwordless ? [key, 'user', 'mfa'] : [key] };
}

/** The challenge the browser signed, from the client data (WebAuthn §5.8.1), or undefined. */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(data.challenge) ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}
