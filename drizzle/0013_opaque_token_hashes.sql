-- Password-reset links were stored as the hex SHA-256 of their token; every other opaque token
-- (browser sessions, authorization codes) as base64url. One encoding now: links already mailed keep
-- working, their hashes re-encoded here.
UPDATE password_reset_tokens
  SET token_hash = rtrim(translate(encode(decode(token_hash, 'hex'), 'base64'), '+/', '-_'), '=')
  WHERE token_hash ~ '^[0-9a-f]{64}$';
