/**
 * The error model. Domain code throws these; only `http/error-response.ts` turns them into HTTP
 * responses, so no grant or route ever picks a status code itself.
 */

/** RFC 6749 §5.2 error codes, plus RFC 8707 §2 `invalid_target`. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target';

const statusByCode: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
};

/** An error the client caused or must know about; `code` and `description` are safe to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = 'ApiError';
  }
}

export class OAuthError extends ApiError {
  constructor(
    override readonly code: OAuthErrorCode,
    description: string,
    /** RFC 6749 §5.2: a 401 for a client that used the Authorization header names the scheme. */
    wwwAuthenticate?: string,
  ) {
    super(statusByCode[code], code, description, wwwAuthenticate ? { 'WWW-Authenticate': wwwAuthenticate } : {});
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
  new ApiError(401, 'invalid_token', 'a bearer access token is required', { 'WWW-Authenticate': bearerChallenge() });
export const invalidToken = (description: string) =>
  new ApiError(401, 'invalid_token', description, { 'WWW-Authenticate': bearerChallenge('invalid_token', description) });
export const insufficientScope = (scope: string, description = `the access token needs the ${scope} scope`) =>
  new ApiError(403, 'insufficient_scope', description, {
    'WWW-Authenticate': bearerChallenge('insufficient_scope', undefined, scope),
  });
export const invalidBearerRequest = (description: string) =>
  new ApiError(400, 'invalid_request', description, { 'WWW-Authenticate': bearerChallenge('invalid_request', description) });

export const payloadTooLarge = (limitBytes: number) =>
  new ApiError(413, 'invalid_request', `the request body is larger than ${limitBytes} bytes`);
export const notFound = () => new ApiError(404, 'not_found', 'no such endpoint');

export const invalidRequest = (description: string) => new OAuthError('invalid_request', description);
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
export function describeIssues(issues: readonly { code: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] }[]): string {
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
