-- GitHub as an upstream provider (OAuth 2.0 and its API rather than OpenID Connect), and providers
-- that are the only way in for their users.
ALTER TABLE "identity_providers" ADD COLUMN "kind" text DEFAULT 'oidc' NOT NULL;--> statement-breakpoint
ALTER TABLE "identity_providers" ADD COLUMN "exclusive" boolean DEFAULT false NOT NULL;