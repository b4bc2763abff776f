import type { Signer } from '../keys/signer.js';
import { inSpan } from '../tracing/spans.js';

/** base64url of the UTF-8 JSON of `value` (RFC 7515 §2, §7.1). */
const encodeJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A JWS in compact serialization (RFC 7515 §7.1) with `alg` and `kid` from the signer: the
 * signing input is built here and only its bytes go to the signer, which may be a KMS.
 */
export async function signCompactJws(signer: Signer, header: { typ: string }, payload: Record<string, unknown>): Promise<string> {
  const signingInput = `${encodeJson({ alg: signer.algorithm, typ: header.typ, kid: signer.kid })}.${encodeJson(payload)}`;
  const signature = await inSpan('jws sign', { 'jws.alg': signer.algorithm, 'jws.kid': signer.kid, 'jws.typ': header.typ }, () =>
    signer.sign(Buffer.from(signingInput)),
  );
  return `${signingInput}.${signature.toString('base64url')}`;
}
