import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The tables. Users, refresh-token families and audit events come next and key on `clients.id`
 * (text, so ids stay opaque strings) and on uuid user ids.
 */

export const clients = pgTable('clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** SHA-256 of a server-generated 256-bit secret (see clients/client-secret.ts). */
  secretHash: text('secret_hash').notNull(),
  grantTypes: text('grant_types').array().notNull(),
  scopes: text('scopes').array().notNull(),
  audiences: text('audiences').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const signingKeys = pgTable('signing_keys', {
  /** RFC 7638 JWK thumbprint of the public key. */
  kid: text('kid').primaryKey(),
  algorithm: text('algorithm').notNull(),
  publicJwk: jsonb('public_jwk').$type<Record<string, string>>().notNull(),
  /** The private JWK sealed with AES-256-GCM under KEY_ENCRYPTION_KEY (keys/sealed-box.ts). */
  privateKeySealed: text('private_key_sealed').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** Set when another key became current; the key keeps verifying until its tokens expire. */
  retiredAt: timestamp('retired_at', { withTimezone: true }),
});

export type ClientRow = typeof clients.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;
