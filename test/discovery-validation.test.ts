import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';

const ISSUER = 'https://auth.example.test';
/** Debian's python3 with python3-authlib (.ci/run installs it), not whatever python is first on PATH. */
const PYTHON = '/usr/bin/python3';
const hasAuthlib = existsSync('/usr/lib/python3/dist-packages/authlib') || process.env.CI !== undefined;

/** authlib's own validators for RFC 8414 and OpenID Connect Discovery metadata, on a document from stdin. */
const AUTHLIB_CHECK = `
import json, sys
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
document = json.load(sys.stdin)
AuthorizationServerMetadata(document).validate()
OpenIDProviderMetadata(document).validate()
print("valid")
`;

function authlibValidates(document: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', AUTHLIB_CHECK], (error, stdout, stderr) =>
      error ? reject(new Error(stderr.trim().split('\n').pop())) : resolve(stdout.trim()),
    );
    child.stdin!.end(JSON.stringify(document));
  });
}

/**
 * Both metadata documents as two independent client libraries read them: oauth4webapi (what
 * openid-client and many Node apps use) and Python's authlib, which refused our document while
 * `response_types_supported` was empty. Scopes that grant the issuer's own powers are not listed.
 */
describe('discovery metadata, as client libraries validate it', () => {
  let harness: InProcessApp;

  beforeAll(async () => {
    harness = await createInProcessApp({ issuer: ISSUER });
    await createClient(harness.database.db, {
      name: 'ops',
      grantTypes: ['client_credentials'],
      scopes: ['admin', 'introspect', 'reports:read'],
      audiences: [ISSUER],
    });
    await createClient(harness.database.db, {
      name: 'web',
      grantTypes: ['authorization_code'],
      scopes: ['openid', 'profile'],
      audiences: [ISSUER],
      redirectUris: ['https://web.example.test/cb'],
    });
  });
  afterAll(() => harness?.close());

  it.each(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])(
    '%s passes oauth4webapi and lists the scopes the issuer serves and clients may ask for',
    async (path) => {
      const response = await harness.app.request(path);
      const server = await oauth.processDiscoveryResponse(new URL(ISSUER), response.clone());
      expect(server.issuer).toBe(ISSUER);
      expect(server.scopes_supported).toEqual(['openid', 'profile', 'email', 'account', 'reports:read']);
      expect(server.code_challenge_methods_supported).toEqual(['S256']);
    },
  );

  it.runIf(hasAuthlib).each(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])(
    '%s passes authlib’s RFC 8414 and OpenID Connect Discovery validation',
    async (path) => {
      const document = await (await harness.app.request(path)).json();
      await expect(authlibValidates(document)).resolves.toBe('valid');
    },
  );
});
