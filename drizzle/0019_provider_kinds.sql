-- GitHub as an upstream provider (OAuth 2.0 and its API rather than OpenID Connect), providers that
-- are the only way in for their users, and private_key_jwt towards providers.
ALTER TABLE "identity_providers" ADD COLUMN "kind" text DEFAULT 'oidc' NOT NULL;--> statement-breakpoint
ALTER TABLE "identity_providers" ADD COLUMN "client_auth" text DEFAULT 'client_secret' NOT NULL;--> statement-breakpoint
ALTER TABLE "identity_providers" ADD COLUMN "client_key_sealed" text;--> statement-breakpoint
ALTER TABLE "identity_providers" ADD COLUMN "exclusive" boolean DEFAULT false NOT NULL;