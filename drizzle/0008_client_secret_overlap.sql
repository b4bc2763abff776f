ALTER TABLE "clients" ADD COLUMN "secret_created_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "previous_secret_hash" text;--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "previous_secret_created_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "clients" ADD COLUMN "previous_secret_expires_at" timestamp with time zone;--> statement-breakpoint
-- Existing secrets were issued with their client.
UPDATE "clients" SET "secret_created_at" = "created_at" WHERE "secret_hash" IS NOT NULL;
