CREATE TABLE "federated_identities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"client_id" text NOT NULL,
	"issuer" text NOT NULL,
	"subject" text,
	"claims" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trusted_issuers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"issuer" text NOT NULL,
	"jwks" jsonb,
	"jwks_uri" text,
	"audience" text NOT NULL,
	"max_token_age_seconds" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "trusted_issuers_issuer_unique" UNIQUE("issuer")
);
--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "federated" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "federated_identities" ADD CONSTRAINT "federated_identities_client_id_clients_id_fk" FOREIGN KEY ("client_id") REFERENCES "public"."clients"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "federated_identities" ADD CONSTRAINT "federated_identities_issuer_trusted_issuers_issuer_fk" FOREIGN KEY ("issuer") REFERENCES "public"."trusted_issuers"("issuer") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "federated_identities_issuer_idx" ON "federated_identities" USING btree ("issuer");--> statement-breakpoint
CREATE INDEX "federated_identities_client_idx" ON "federated_identities" USING btree ("client_id");