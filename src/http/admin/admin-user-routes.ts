import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { decodeCursor } from '../../page-cursor.js';
import { notFound } from '../../errors.js';
import { endUserSessions } from '../../users/user-sessions.js';
import { createUser } from '../../users/accounts.js';
import { changeUser, removeUser } from '../../users/user-changes.js';
import { KNOWN_ROLES } from '../../users/roles.js';
import { findAccount, listAccounts } from '../../users/user-directory.js';
import { adminActor, UUID, type AdminRouteOptions } from './admin-common.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { booleanParameter, pageParameters, readQuery } from '../query.js';
import { describeFactors, removeFactor } from '../../factors/second-factors.js';
import { factorsJson, userJson } from '../../representations.js';
import { NO_STORE } from '../no-store.js';

const roles = z.array(z.enum(KNOWN_ROLES, { error: `roles are ${KNOWN_ROLES.join(', ')}` })).min(1);

const listQuery = z
  .object({
    username: z.string().min(1).max(64).optional(),
    email: z.string().min(1).max(254).optional(),
    role: z.enum(KNOWN_ROLES).optional(),
    active: booleanParameter.optional(),
    ...pageParameters,
  })
  .strict();

const createBody = z
  .object({
    username: z.string(),
    email: z.string(),
    password: z.string().min(1).max(4096),
    full_name: z.string().optional(),
    roles: roles.optional(),
  })
  .strict();

const updateBody = z
  .object({
    full_name: z.string().trim().min(1).max(200).nullable().optional(),
    email: z.email('not a valid email address').max(254).optional(),
    roles: roles.optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'nothing to change: give full_name, email, roles or active' });

const userNotFound = () => notFound('user');

/** /admin/users: list, create, read, update, delete, and end a user's sessions. */
export function adminUserRoutes(options: AdminRouteOptions): Hono<AppEnv> {
  const { db } = options.accounts;
  const routes = new Hono<AppEnv>();
  const existingUser = async (c: Context<AppEnv>) => {
    const id = c.req.param('id') ?? '';
    const user = UUID.test(id) ? await findAccount(db, id) : undefined;
    if (!user) throw userNotFound();
    return user;
  };

  routes.get('/admin/users', async function listUsers(c) {
    const query = readQuery(c, listQuery);
    const page = await listAccounts(
      db,
      { username: query.username, email: query.email, role: query.role, isActive: query.active },
      { limit: query.limit, cursor: query.cursor === undefined ? undefined : decodeCursor(query.cursor, UUID) },
    );
    return c.json({ items: page.items.map(userJson), next_cursor: page.nextCursor }, 200, NO_STORE);
  });

  routes.post('/admin/users', async function createAccount(c) {
    const body = await readJsonBody(c, createBody);
    const input = { username: body.username, email: body.email, fullName: body.full_name, roles: body.roles };
    const user = await createUser(options.accounts, options.revocation, input, body.password, adminActor(c));
    return c.json(userJson(user), 201, NO_STORE);
  });

  routes.get('/admin/users/:id', async function showUser(c) {
    return c.json(userJson(await existingUser(c)), 200, NO_STORE);
  });

  /** Removing a role or disabling ends their sessions; the last active admin stays (409). */
  routes.patch('/admin/users/:id', async function changeUserFields(c) {
    const before = await existingUser(c);
    const body = await readJsonBody(c, updateBody);
    const changes = { fullName: body.full_name, email: body.email, roles: body.roles, isActive: body.active };
    const { user } = await changeUser(options.revocation, before, changes, { by: adminActor(c), lastAdmin: 'refuse' });
    return c.json(userJson(user), 200, NO_STORE);
  });

  /** Everything of theirs goes: sessions ended and access tokens denylisted, then the account. */
  routes.delete('/admin/users/:id', async function deleteOneUser(c) {
    const user = await existingUser(c);
    await removeUser(options.revocation, user, { by: adminActor(c), lastAdmin: 'refuse' });
    return c.body(null, 204);
  });

  /** A user's second factors (never a secret), for support: what they can sign in with. */
  routes.get('/admin/users/:id/factors', async function listFactorsOfUser(c) {
    const user = await existingUser(c);
    return c.json(factorsJson(await describeFactors(db, user.id)), 200, NO_STORE);
  });

  /** For a user who lost their device and their recovery codes: audited, and the user is told by mail. */
  routes.delete('/admin/users/:id/factors/:factor_id', async function removeFactorOfUser(c) {
    const user = await existingUser(c);
    await removeFactor({ ...options.revocation, mailer: options.mailer }, user, c.req.param('factor_id'), adminActor(c));
    return c.body(null, 204);
  });

  routes.delete('/admin/users/:id/sessions', async function endSessionsOfUser(c) {
    const user = await existingUser(c);
    await endUserSessions(options.revocation, user.id, adminActor(c));
    return c.body(null, 204);
  });

  return routes;
}
