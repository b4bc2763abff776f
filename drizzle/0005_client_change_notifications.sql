-- Every change to a client (from the API, the CLI or plain SQL) is announced on the channel
-- token_issuer_clients with the client's id, so that every instance drops its cached copy at once.
CREATE FUNCTION token_issuer_notify_client_change() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('token_issuer_clients', COALESCE(NEW.id, OLD.id));
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
  FOR EACH ROW EXECUTE FUNCTION token_issuer_notify_client_change();
