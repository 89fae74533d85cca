-- The OpenID Connect nonce an app sent with its authorization request, echoed in the
-- id_token issued for the code.
ALTER TABLE oauth_codes ADD COLUMN nonce TEXT;
