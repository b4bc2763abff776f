-- Upstream identity providers people may sign in with, the accounts linked to them (by the provider's
-- sub, never by email), and the state of a sign-in sent upstream.
CREATE TABLE "identity_providers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"display_name" text NOT NULL,
	"issuer" text NOT NULL,
	"client_id" text NOT NULL,
	"client_secret_sealed" text,
	"scopes" text[] NOT NULL,
	"allow_signup" boolean DEFAULT false NOT NULL,
	"allowed_domains" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "identity_providers_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "linked_identities" (
	"provider_id" uuid NOT NULL,
	"subject" text NOT NULL,
	"user_id" uuid NOT NULL,
	"email" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "linked_identities_provider_id_subject_pk" PRIMARY KEY("provider_id","subject")
);
--> statement-breakpoint
ALTER TABLE "authorization_requests" ADD COLUMN "upstream_provider_id" uuid;--> statement-breakpoint
ALTER TABLE "authorization_requests" ADD COLUMN "upstream_state" text;--> statement-breakpoint
ALTER TABLE "authorization_requests" ADD COLUMN "upstream_nonce" text;--> statement-breakpoint
ALTER TABLE "authorization_requests" ADD COLUMN "upstream_verifier" text;--> statement-breakpoint
ALTER TABLE "linked_identities" ADD CONSTRAINT "linked_identities_provider_id_identity_providers_id_fk" FOREIGN KEY ("provider_id") REFERENCES "public"."identity_providers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "linked_identities" ADD CONSTRAINT "linked_identities_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "linked_identities_user_idx" ON "linked_identities" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "authorization_requests_upstream_state_idx" ON "authorization_requests" USING btree ("upstream_state");