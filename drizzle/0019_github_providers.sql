-- GitHub as an upstream provider: OAuth 2.0 and its API rather than OpenID Connect.
ALTER TABLE "identity_providers" ADD COLUMN "kind" text DEFAULT 'oidc' NOT NULL;