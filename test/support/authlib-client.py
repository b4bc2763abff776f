"""A web app's sign-in with Python's authlib, as docs/relying-parties.md configures it.

authlib's Flask and Starlette integrations hand `client_kwargs` to this same OAuth2Session; with
`code_challenge_method='S256'` it sends PKCE. Reads one step as JSON on stdin, prints JSON:
  {"step": "authorize", ...}  -> {"url", "state", "nonce", "code_verifier"}
  {"step": "callback", "callback_url", ...}  -> the id token's validated claims
"""
import json
import sys

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

args = json.load(sys.stdin)
metadata = requests.get(args["issuer"] + "/.well-known/openid-configuration", timeout=5).json()
client_kwargs = {"code_challenge_method": "S256"} if args["pkce"] else {}
session = OAuth2Session(
    args["client_id"],
    args["client_secret"],
    scope="openid profile",
    redirect_uri=args["redirect_uri"],
    **client_kwargs,
)

if args["step"] == "authorize":
    # What the integrations do: a nonce for an OpenID Connect request, a verifier when PKCE is on.
    nonce = generate_token(20)
    verifier = generate_token(48) if args["pkce"] else None
    url, state = session.create_authorization_url(metadata["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
    print(json.dumps({"url": url, "state": state, "nonce": nonce, "code_verifier": verifier}))
else:
    token = session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=args["callback_url"],
        state=args["state"],
        **({"code_verifier": args["code_verifier"]} if args["code_verifier"] else {}),
    )
    keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": metadata["issuer"]}},
        claims_params={"nonce": args["nonce"], "client_id": args["client_id"]},
    )
    claims.validate()
    print(json.dumps({"sub": claims["sub"], "nonce": claims["nonce"], "aud": claims["aud"]}))
