/** What the verifier reads of the issuer's metadata (RFC 8414 §2). */
export interface IssuerMetadata {
  jwks_uri: string;
  token_endpoint?: string;
  /** This issuer's own: the revocation feed's snapshot and stream. */
  revocation_feed_endpoint?: string;
  revocation_feed_stream_endpoint?: string;
}

/** The issuer's discovery document names another issuer than the one configured. */
export class IssuerMismatchError extends Error {
  constructor(configured: string, discovered: unknown) {
    super(
      `the verifier is configured with issuer ${JSON.stringify(configured)}, but the issuer's discovery document says ${JSON.stringify(discovered)}; they must match exactly`,
    );
    this.name = 'IssuerMismatchError';
  }
}

/** `<issuer>/.well-known/oauth-authorization-server`, checked to be the issuer's own (RFC 8414 §3.3). */
export async function discoverMetadata(issuer: string): Promise<IssuerMetadata> {
  const response = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`discovery answered ${response.status}`);
  const metadata = (await response.json()) as Partial<IssuerMetadata> & { issuer?: string };
  // A difference is this service's configuration (a trailing slash, http for https), not an
  // outage: say so.
  if (metadata.issuer !== issuer) throw new IssuerMismatchError(issuer, metadata.issuer);
  if (typeof metadata.jwks_uri !== 'string') throw new Error('the discovery metadata has no jwks_uri');
  const named = (name: keyof IssuerMetadata) => (typeof metadata[name] === 'string' ? { [name]: metadata[name] } : {});
  return {
    jwks_uri: metadata.jwks_uri,
    ...named('token_endpoint'),
    ...named('revocation_feed_endpoint'),
    ...named('revocation_feed_stream_endpoint'),
  };
}
