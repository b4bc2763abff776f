-- The revocation feed reads what was revoked since a moment: revoked_at is indexed.
CREATE INDEX "revocation_cutoffs_revoked_at_idx" ON "revocation_cutoffs" USING btree ("revoked_at");--> statement-breakpoint
CREATE INDEX "revoked_tokens_revoked_at_idx" ON "revoked_tokens" USING btree ("revoked_at");