import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { clientNotFound, removeClient } from '../../clients/client-removal.js';
import { retireSecret, rotateSecret } from '../../clients/client-secret-rotation.js';
import { changeClient, registerClient } from '../../clients/client-administration.js';
import { findClient, listClientsPage, type Client } from '../../clients/client-registry.js';
import { decodeCursor } from '../../page-cursor.js';
import { adminActor, type AdminRouteOptions } from './admin-common.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { booleanParameter, pageParameters, readQuery } from '../query.js';
import { clientJson } from '../../representations.js';
import { NO_STORE } from '../no-store.js';

const CLIENT_ID = /^[A-Za-z0-9._-]{1,128}$/;
const listQuery = z.object(pageParameters).strict();
const secretQuery = z.object({ revoke_tokens: booleanParameter.optional() }).strict();

/** The HTTP body in the API's snake_case; the rules themselves are the client store's. */
const createBody = z
  .object({
    name: z.unknown(),
    public: z.boolean().optional(),
    grant_types: z.unknown(),
    scopes: z.unknown().optional(),
    audiences: z.unknown(),
    redirect_uris: z.unknown().optional(),
    post_logout_redirect_uris: z.unknown().optional(),
    first_party: z.unknown().optional(),
    pkce_required: z.unknown().optional(),
    require_mfa: z.unknown().optional(),
    single_factor_password_grant: z.unknown().optional(),
    impersonation: z.unknown().optional(),
    id_token_signed_response_alg: z.unknown().optional(),
    auth_methods: z.unknown().optional(),
    jwks: z.unknown().optional(),
    jwks_uri: z.unknown().optional(),
  })
  .strict();
const updateBody = z
  .object({
    name: z.unknown().optional(),
    grant_types: z.unknown().optional(),
    scopes: z.unknown().optional(),
    audiences: z.unknown().optional(),
    redirect_uris: z.unknown().optional(),
    post_logout_redirect_uris: z.unknown().optional(),
    first_party: z.unknown().optional(),
    pkce_required: z.unknown().optional(),
    require_mfa: z.unknown().optional(),
    single_factor_password_grant: z.unknown().optional(),
    impersonation: z.unknown().optional(),
    id_token_signed_response_alg: z.unknown().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, {
    message:
      'nothing to change: give name, grant_types, scopes, audiences, redirect_uris, post_logout_redirect_uris, first_party, pkce_required, require_mfa, single_factor_password_grant, impersonation or id_token_signed_response_alg',
  });

/** /admin/clients: list, register (secret shown once), read, update, rotate the secret, delete. */
export function adminClientRoutes(options: AdminRouteOptions): Hono<AppEnv> {
  const { db } = options.accounts;
  const routes = new Hono<AppEnv>();
  const existingClient = async (c: Context<AppEnv>): Promise<Client> => {
    const id = c.req.param('id') ?? '';
    const client = CLIENT_ID.test(id) ? await findClient(db, id) : undefined;
    if (!client) throw clientNotFound();
    return client;
  };

  routes.get('/admin/clients', async function listClients(c) {
    const query = readQuery(c, listQuery);
    const page = await listClientsPage(db, {
      limit: query.limit,
      cursor: query.cursor === undefined ? undefined : decodeCursor(query.cursor, CLIENT_ID),
    });
    return c.json({ items: page.items.map(clientJson), next_cursor: page.nextCursor }, 200, NO_STORE);
  });

  routes.post('/admin/clients', async function createRegistration(c) {
    const body = await readJsonBody(c, createBody);
    const input = {
      name: body.name,
      isPublic: body.public ?? false,
      grantTypes: body.grant_types,
      scopes: body.scopes ?? [],
      audiences: body.audiences,
      redirectUris: body.redirect_uris ?? [],
      postLogoutRedirectUris: body.post_logout_redirect_uris ?? [],
      firstParty: body.first_party ?? false,
      pkceRequired: body.pkce_required ?? true,
      requireMfa: body.require_mfa ?? false,
      singleFactorPasswordGrant: body.single_factor_password_grant ?? false,
      impersonation: body.impersonation ?? false,
      idTokenAlgorithm: body.id_token_signed_response_alg ?? null,
      ...(body.auth_methods === undefined ? {} : { authMethods: body.auth_methods }),
      ...(body.jwks === undefined ? {} : { jwks: body.jwks }),
      ...(body.jwks_uri === undefined ? {} : { jwksUri: body.jwks_uri }),
    };
    const by = adminActor(c);
    const { secret, ...client } = await registerClient({ ...options.revocation, outbound: options.outbound }, input, by);
    // The secret is shown this once; only its hash is stored.
    return c.json({ ...clientJson(client), ...(secret === undefined ? {} : { client_secret: secret }) }, 201, NO_STORE);
  });

  routes.get('/admin/clients/:id', async function showClient(c) {
    return c.json(clientJson(await existingClient(c)), 200, NO_STORE);
  });

  /**
   * A client that loses a grant type, scope or audience has its sessions ended: their refresh
   * tokens were issued under what it had.
   */
  /** A client that loses a grant type, scope or audience has its sessions ended (clients/client-administration.ts). */
  routes.patch('/admin/clients/:id', async function changeRegistration(c) {
    const before = await existingClient(c);
    const body = await readJsonBody(c, updateBody);
    const changes = {
      name: body.name,
      grantTypes: body.grant_types,
      scopes: body.scopes,
      audiences: body.audiences,
      redirectUris: body.redirect_uris,
      postLogoutRedirectUris: body.post_logout_redirect_uris,
      firstParty: body.first_party,
      pkceRequired: body.pkce_required,
      requireMfa: body.require_mfa,
      singleFactorPasswordGrant: body.single_factor_password_grant,
      impersonation: body.impersonation,
      idTokenAlgorithm: body.id_token_signed_response_alg,
    };
    const updated = await changeClient(options.revocation, before, changes, { ...adminActor(c), changed: Object.keys(body) });
    options.clients.forget(before.id);
    return c.json(clientJson(updated), 200, NO_STORE);
  });

  /**
   * The old secret keeps working for CLIENT_SECRET_OVERLAP_SECONDS; `?revoke_tokens=true` (a leaked
   * secret) stops it at once, ends the client's sessions and cuts off every token it obtained.
   */
  routes.post('/admin/clients/:id/secret', async function newClientSecret(c) {
    const client = await existingClient(c);
    const query = readQuery(c, secretQuery);
    const by = adminActor(c);
    const rotation = await rotateSecret(options.revocation, client, {
      revokeTokens: query.revoke_tokens ?? false,
      overlapSeconds: options.clientSecretOverlapSeconds,
      audit: by,
    });
    options.clients.forget(client.id);
    const previousExpiresAt = rotation.previousExpiresAt?.toISOString() ?? null;
    return c.json({ client_id: client.id, client_secret: rotation.secret, previous_secret_expires_at: previousExpiresAt }, 200, NO_STORE);
  });

  /** Ends a rotation's overlap now: only the newest secret works. */
  routes.delete('/admin/clients/:id/secret/previous', async function retireOldSecret(c) {
    const client = await existingClient(c);
    const by = adminActor(c);
    await retireSecret(options.revocation, client, by);
    options.clients.forget(client.id);
    return c.body(null, 204);
  });

  /** Its sessions end and their access tokens are denylisted, then the registration goes. */
  routes.delete('/admin/clients/:id', async function deleteRegistration(c) {
    const client = await existingClient(c);
    await removeClient(options.revocation, client.id, adminActor(c));
    options.clients.forget(client.id);
    return c.body(null, 204);
  });

  return routes;
}
