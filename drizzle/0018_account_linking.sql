-- Linking an upstream account to a signed-in user from the account page, and which links made
-- their account (to know whether unlinking would leave it no way to sign in).
ALTER TABLE "authorization_requests" ADD COLUMN "link_user_id" uuid;--> statement-breakpoint
ALTER TABLE "linked_identities" ADD COLUMN "created_account" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "authorization_requests" ADD CONSTRAINT "authorization_requests_link_user_id_users_id_fk" FOREIGN KEY ("link_user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;