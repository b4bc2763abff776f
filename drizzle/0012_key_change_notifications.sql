-- Every change to a signing key (rotation, revocation, retirement; from any instance, the CLI or
-- plain SQL) is announced on the channel token_issuer_keys with its kid, so that every instance
-- reloads its keys at once instead of at its next KEYS_REFRESH_INTERVAL.
CREATE FUNCTION token_issuer_notify_key_change() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('token_issuer_keys', COALESCE(NEW.kid, OLD.kid));
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
  FOR EACH ROW EXECUTE FUNCTION token_issuer_notify_key_change();
--> statement-breakpoint
CREATE TRIGGER refresh_signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON refresh_signing_keys
  FOR EACH ROW EXECUTE FUNCTION token_issuer_notify_key_change();
