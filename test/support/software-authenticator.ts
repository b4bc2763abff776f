import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A WebAuthn authenticator in software, for tests without a browser: it makes the answers a
 * browser would post (`PublicKeyCredential.toJSON()`), with an ES256 key, `none` attestation and
 * the flags and counter a test chooses, so each rule of the relying party can be attacked on its
 * own. Chromium's virtual authenticator covers the real ceremony (passkeys-browser.e2e.test.ts).
 */
export function softwareAuthenticator(rp: { id: string; origin: string }) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const credentialId = randomBytes(16);
  const id = credentialId.toString('base64url');
  let counter = 0;
  const rpIdHash = createHash('sha256').update(rp.id).digest();

  const clientData = (type: string, challenge: string, origin = rp.origin) =>
    Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));

  return {
    id,
    /** The answer to `navigator.credentials.create()` for these options' challenge. */
    create(challenge: string, options: { userVerified?: boolean } = {}) {
      const jwk = publicKey.export({ format: 'jwk' });
      const coseKey = cbor(
        new Map<number, unknown>([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, Buffer.from(jwk.x!, 'base64url')],
          [-3, Buffer.from(jwk.y!, 'base64url')],
        ]),
      );
      const length = Buffer.alloc(2);
      length.writeUInt16BE(credentialId.length);
      const attested = Buffer.concat([Buffer.alloc(16), length, credentialId, coseKey]);
      const authData = authenticatorData(rpIdHash, flags(options.userVerified ?? true) | 0x40, counter, attested);
      const attestationObject = cbor(
        new Map<string, unknown>([
          ['fmt', 'none'],
          ['attStmt', new Map()],
          ['authData', authData],
        ]),
      );
      return {
        id,
        rawId: id,
        type: 'public-key',
        clientExtensionResults: {},
        response: {
          clientDataJSON: clientData('webauthn.create', challenge).toString('base64url'),
          attestationObject: attestationObject.toString('base64url'),
          transports: ['internal'],
        },
      };
    },
    /** The answer to `navigator.credentials.get()`; the counter advances unless told to repeat itself. */
    assert(challenge: string, options: { userVerified?: boolean; origin?: string; counter?: number } = {}) {
      counter = options.counter ?? counter + 1;
      const data = authenticatorData(rpIdHash, flags(options.userVerified ?? true), counter);
      const client = clientData('webauthn.get', challenge, options.origin);
      const signature = sign('sha256', Buffer.concat([data, createHash('sha256').update(client).digest()]), privateKey as KeyObject);
      return {
        id,
        rawId: id,
        type: 'public-key',
        clientExtensionResults: {},
        response: {
          clientDataJSON: client.toString('base64url'),
          authenticatorData: data.toString('base64url'),
          signature: signature.toString('base64url'),
        },
      };
    },
  };
}

export type SoftwareAuthenticator = ReturnType<typeof softwareAuthenticator>;

/** User present always; user verified when asked (WebAuthn §6.1 flags). */
const flags = (userVerified: boolean) => 0x01 | (userVerified ? 0x04 : 0);

function authenticatorData(rpIdHash: Buffer, flagBits: number, counter: number, attested = Buffer.alloc(0)): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  return Buffer.concat([rpIdHash, Buffer.from([flagBits]), count, attested]);
}

/** Just enough CBOR (RFC 8949) for attestation objects and COSE keys: integers, strings, bytes, maps. */
function cbor(value: unknown): Buffer {
  const head = (major: number, length: number) => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 256) return Buffer.from([(major << 5) | 24, length]);
    const two = Buffer.alloc(3);
    two[0] = (major << 5) | 25;
    two.writeUInt16BE(length, 1);
    return two;
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (value instanceof Map) {
    return Buffer.concat([head(5, value.size), ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)])]);
  }
  throw new TypeError(`cbor: cannot encode ${typeof value}`);
}
