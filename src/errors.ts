/**
 * The error model. Domain code throws these; only `http/error-response.ts` turns them into HTTP
 * responses, so no grant or route ever picks a status code itself.
 */

/**
 * Every error code the API answers with, and its HTTP status: the one table (as node-oidc-provider's
 * lib/helpers/errors.js). RFC 6749 §5.2 and RFC 8707 §2 codes, RFC 6750 §3.1 bearer codes, and the
 * API's own.
 */
const statusByCode = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  insufficient_role: 403,
  // RFC 9470 §3: the token is fine, but the sign-in behind it is too old or too weak.
  insufficient_user_authentication: 401,
  invalid_password: 400,
  invalid_reset_token: 400,
  invalid_code: 400,
  invalid_passkey: 400,
  incorrect_password: 403,
  signup_disabled: 403,
  not_found: 404,
  account_exists: 409,
  last_admin: 409,
  already_trusted: 409,
  provider_exists: 409,
  last_sign_in_method: 409,
  too_many_requests: 429,
  // RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6: sent to the client's redirect URI.
  unsupported_response_type: 400,
  access_denied: 400,
  login_required: 400,
  consent_required: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  // Shown on a page, never redirected: the redirect URI cannot be trusted (RFC 6749 §4.1.2.1).
  invalid_authorization_request: 400,
  invalid_form: 400,
} as const;

export type ErrorCode = keyof typeof statusByCode;
/** RFC 6749 §5.2 error codes, plus RFC 8707 §2 `invalid_target`. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target';

/**
 * An error the client caused or must know about; `code` and `description` are safe to show. Made
 * only by the factories below (lint forbids `new ApiError` elsewhere): the code fixes the status.
 */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
    /** Only for refusals of the HTTP message itself (413, 415), whose body still says invalid_request. */
    transportStatus?: 413 | 415,
  ) {
    super(description);
    this.name = 'ApiError';
    this.status = transportStatus ?? statusByCode[code];
  }
}

/** The RFC 6749 §5.2 errors of the token, revocation and introspection endpoints. */
export class OAuthError extends ApiError {
  constructor(
    override readonly code: OAuthErrorCode,
    description: string,
    /** RFC 6749 §5.2: a 401 for a client that used the Authorization header names the scheme. */
    wwwAuthenticate?: string,
  ) {
    super(code, description, wwwAuthenticate ? { 'WWW-Authenticate': wwwAuthenticate } : {});
    this.name = 'OAuthError';
  }
}

/** RFC 6750 §3: the challenge a protected resource sends with each refusal. */
const bearerChallenge = (error?: string, description?: string, scope?: string) =>
  [
    'Bearer realm="token-issuer"',
    ...(error ? [`error="${error}"`] : []),
    ...(description ? [`error_description="${description}"`] : []),
    ...(scope ? [`scope="${scope}"`] : []),
  ].join(', ');

/** RFC 6750 §3.1: no credentials at all get a challenge without an error code. */
export const bearerTokenRequired = () =>
  new ApiError('invalid_token', 'a bearer access token is required', { 'WWW-Authenticate': bearerChallenge() });
export const invalidToken = (description: string) =>
  new ApiError('invalid_token', description, { 'WWW-Authenticate': bearerChallenge('invalid_token', description) });
export const insufficientScope = (scope: string, description = `the access token needs the ${scope} scope`) =>
  new ApiError('insufficient_scope', description, { 'WWW-Authenticate': bearerChallenge('insufficient_scope', undefined, scope) });
export const invalidBearerRequest = (description: string) =>
  new ApiError('invalid_request', description, { 'WWW-Authenticate': bearerChallenge('invalid_request', description) });
/** Every role-restricted answer says the same: the caller lacks the role. */
/**
 * RFC 9470 §3: sign in again, more recently than `maxAge` seconds ago, or at `acrValues`; the
 * challenge says which, so a client can send the user to /authorize with the same parameters.
 */
export const insufficientUserAuthentication = (description: string, want: { maxAge?: number; acrValues?: string }) =>
  new ApiError('insufficient_user_authentication', description, {
    'WWW-Authenticate': [
      bearerChallenge('insufficient_user_authentication', description),
      ...(want.acrValues ? [`acr_values="${want.acrValues}"`] : []),
      ...(want.maxAge !== undefined ? [`max_age=${want.maxAge}`] : []),
    ].join(', '),
  });
export const insufficientRole = (role: string) => new ApiError('insufficient_role', `the caller needs the role ${role}`);

// RFC 9110 §15.5.14 and §15.5.16: the message itself is refused; the body code stays RFC 6749's.
export const payloadTooLarge = (limitBytes: number) =>
  new ApiError('invalid_request', `the request body is larger than ${limitBytes} bytes`, {}, 413);
export const unsupportedMediaType = () => new ApiError('invalid_request', 'the request body must be application/json', {}, 415);

/** 404 for anything that is not there: an endpoint, a user, a session, a client. */
export const notFound = (what = 'endpoint') => new ApiError('not_found', `no such ${what}`);
/** The CLI's answer for a login it cannot find. */
export const unknownUser = (login: string) => new ApiError('not_found', `no user ${login}`);
export const accountTaken = () => new ApiError('account_exists', 'that username or email address is already registered');
export const lastAdmin = (change: string) =>
  new ApiError('last_admin', `this would ${change} the last active admin; make another user an admin first`);
export const lastSignInMethod = () =>
  new ApiError('last_sign_in_method', 'this is the only way this account signs in: add a password, a passkey or another provider first');
export const providerExists = (name: string) => new ApiError('provider_exists', `an identity provider named ${name} exists already`);
export const alreadyTrusted = (issuer: string) => new ApiError('already_trusted', `${issuer} is already a trusted issuer`);
export const signupDisabled = () => new ApiError('signup_disabled', 'self-service signup is not enabled on this issuer');
/** The rules of users/password-policy.ts, named in the API's answer and worded for people on the pages. */
export type PasswordRule = 'min_length' | 'max_length' | 'not_username_or_email' | 'not_common';

/** A password the policy refuses; `rule` lets a page say it in its own words. */
export class InvalidPasswordError extends ApiError {
  constructor(
    description: string,
    readonly rule: PasswordRule,
  ) {
    super('invalid_password', `${description} (rule: ${rule})`);
    this.name = 'InvalidPasswordError';
  }
}

export const invalidPassword = (description: string, rule: PasswordRule) => new InvalidPasswordError(description, rule);
/** Expired, used, or never issued: one answer, which tells an attacker nothing. */
export const invalidResetToken = () => new ApiError('invalid_reset_token', 'the reset token is invalid, expired or already used');
/** A second factor's code that is wrong, or was accepted already (each works once). */
export const invalidCode = () => new ApiError('invalid_code', 'the code is incorrect or was already used');
export const invalidPasskey = (description: string) => new ApiError('invalid_passkey', description);
export const incorrectPassword = () => new ApiError('incorrect_password', 'the current password is incorrect');
/** RFC 6585 §4: 429 with Retry-After. */
export const tooManyRequests = (retryAfterSeconds: number, description: string) =>
  new ApiError('too_many_requests', description, { 'Retry-After': String(Math.max(1, retryAfterSeconds)) });

export const invalidRequest = (description: string) => new OAuthError('invalid_request', description);

/** The authorization endpoint's errors (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6). */
export const unsupportedResponseType = () => new ApiError('unsupported_response_type', 'only response_type=code is supported');
export const accessDenied = (description: string) => new ApiError('access_denied', description);
export const loginRequired = (description = 'the user is not signed in (prompt=none)') => new ApiError('login_required', description);
export const consentRequired = () => new ApiError('consent_required', 'the user has not consented to this client (prompt=none)');
export const requestNotSupported = (parameter: 'request' | 'request_uri') =>
  parameter === 'request'
    ? new ApiError('request_not_supported', 'request objects are not supported')
    : new ApiError('request_uri_not_supported', 'request_uri is not supported');
/** An unknown client or unregistered redirect URI: said on a page, never sent to the URI. */
export const invalidAuthorizationRequest = (description: string) => new ApiError('invalid_authorization_request', description);
/** A page's form came without its anti-forgery token, from another browser, or after it expired. */
export const invalidForm = () => new ApiError('invalid_form', 'this form has expired or was not sent by this browser');
export const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);
export const invalidScope = (description: string) => new OAuthError('invalid_scope', description);
export const invalidTarget = (description: string) => new OAuthError('invalid_target', description);
export const unauthorizedClient = (description: string) => new OAuthError('unauthorized_client', description);
export const unsupportedGrantType = (description: string) => new OAuthError('unsupported_grant_type', description);
export const invalidClient = (usedAuthorizationHeader: boolean) =>
  new OAuthError(
    'invalid_client',
    'client authentication failed',
    usedAuthorizationHeader ? 'Basic realm="token-issuer", charset="UTF-8"' : undefined,
  );

/** A dependency (database, Redis) did not answer: the client may retry, so it gets 503. */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable`, options);
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * A zod validation failure as one clear sentence per problem, each naming its field in the API's
 * snake_case (`full_name: ...`, `color: not a known field`). Field names are echoed, so only plain
 * ones are; values never are.
 */
export function describeIssues(
  issues: readonly { code: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] }[],
): string {
  return issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') return `${(issue.keys ?? []).map(fieldName).join(', ')}: not a known field`;
      const path = issue.path.map(String).join('.');
      return path ? `${fieldName(path)}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

export function fieldName(name: string): string {
  const snake = name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  return /^[a-z0-9_.]{1,64}$/.test(snake) ? snake : '(a field)';
}
