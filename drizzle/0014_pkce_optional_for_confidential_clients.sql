-- A confidential client may be let off PKCE when its request carries an OpenID Connect nonce
-- (RFC 9700 §2.1.1): its pending requests and codes then have no challenge. Every client keeps
-- PKCE required unless an operator says otherwise.
ALTER TABLE "authorization_codes" ALTER COLUMN "code_challenge" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "authorization_requests" ALTER COLUMN "code_challenge" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "pkce_required" boolean DEFAULT true NOT NULL;