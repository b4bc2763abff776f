-- A client may require the algorithm its id tokens are signed with (OpenID Connect Registration §2,
-- id_token_signed_response_alg); null: whatever key signs now.
ALTER TABLE "clients" ADD COLUMN "id_token_signed_response_alg" text;
