"""A small OpenID Connect IdP for tests that must forge what a real IdP never sends.

Served on 127.0.0.1 (loopback only) by werkzeug in a thread. Its ID tokens are built from the
user's claims plus ``id_token_claims`` (overrides, ``None`` deletes a claim), signed with its
current key unless ``forge`` builds the whole token instead (wrong key, unknown ``kid``,
``alg: none``, a replayed token...). It records what the portal sends (authorize parameters,
token requests, end-session requests) and checks the client's authentication at the token
endpoint the way the configured method requires.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def unsigned_token(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """A JWT with ``alg: none`` and an empty signature."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header or {'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@dataclass
class FakeIdP:
    client_id: str = "portal"
    client_secret: str = "s3cret"
    token_auth_method: str = "client_secret_basic"
    client_public_key: Any = None  # for private_key_jwt
    url: str = ""
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    signing_kid: str = "k1"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    forge: Callable[[dict[str, Any]], str] | None = None
    refuse_refresh: bool = False
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    end_session_requests: list[dict[str, str]] = field(default_factory=list)
    jwks_fetches: int = 0
    issued_id_tokens: list[str] = field(default_factory=list)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _access: dict[str, str] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys = {self.signing_kid: new_key()}

    # --- what tests call --------------------------------------------------------------------

    def set_user(self, sub: str, **claims: Any) -> None:
        self.users[sub] = {"sub": sub, **claims}

    def rotate(self, kid: str) -> None:
        """Publish a new signing key and retire every old one."""
        self.keys = {kid: new_key()}
        self.signing_kid = kid

    def sign(self, claims: dict[str, Any], *, key: Any = None, kid: str | None = None, alg: str = "RS256") -> str:
        kid = kid or self.signing_kid
        return jwt.encode(claims, key or self.keys.get(kid) or new_key(), algorithm=alg, headers={"kid": kid})

    def base_claims(self, sub: str, nonce: str | None = None) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.url, "sub": sub, "aud": self.client_id, "iat": now, "exp": now + 300,
                                  "sid": f"sid-{sub}"}
        if nonce is not None:
            claims["nonce"] = nonce
        return claims

    def logout_token(self, sub: str | None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.url, "aud": self.client_id, "iat": now, "exp": now + 120,
                                  "jti": secrets.token_hex(8),
                                  "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
        if sub:
            claims["sub"] = sub
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return self.sign(claims)

    # --- the IdP's endpoints ------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        handler = {
            "/.well-known/openid-configuration": self._discovery, "/jwks": self._jwks,
            "/authorize": self._authorize, "/token": self._token, "/userinfo": self._userinfo,
            "/end_session": self._end_session,
        }.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def _json(self, data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def _discovery(self, request: Request) -> Response:
        return self._json({
            "issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token", "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks", "end_session_endpoint": f"{self.url}/end_session",
            "id_token_signing_alg_values_supported": ["RS256"], "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        })

    def _jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        return self._json({"keys": [public_jwk(key, kid) for kid, key in self.keys.items()]})

    def _authorize(self, request: Request) -> Response:
        params = dict(request.args)
        self.authorize_requests.append(params)
        sub = params.get("login_hint") or next(iter(self.users))
        code = secrets.token_hex(8)
        self._codes[code] = {"sub": sub, "nonce": params.get("nonce")}
        target = f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params.get('state', '')})}"
        return Response(status=302, headers={"Location": target})

    def _client_ok(self, request: Request) -> bool:
        form = request.form
        if self.token_auth_method == "client_secret_basic":
            auth = request.authorization
            return (auth is not None and auth.username == self.client_id and auth.password == self.client_secret
                    and "client_secret" not in form)
        if self.token_auth_method == "client_secret_post":
            return (request.authorization is None and form.get("client_id") == self.client_id
                    and form.get("client_secret") == self.client_secret)
        try:
            assertion = jwt.decode(form.get("client_assertion", ""), self.client_public_key, algorithms=["RS256"],
                                   audience=f"{self.url}/token", issuer=self.client_id)
        except jwt.PyJWTError:
            return False
        return (form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                and assertion.get("sub") == self.client_id and "client_secret" not in form)

    def _token(self, request: Request) -> Response:
        form = dict(request.form)
        self.token_requests.append({"form": form, "authorization": request.headers.get("Authorization", "")})
        if not self._client_ok(request):
            return self._json({"error": "invalid_client"}, 401)
        if form.get("grant_type") == "refresh_token":
            sub = self._refresh.get(form.get("refresh_token", ""))
            if sub is None or self.refuse_refresh:
                return self._json({"error": "invalid_grant"}, 400)
            return self._json(self._tokens_for(sub, nonce=None, id_token=False))
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None:
            return self._json({"error": "invalid_grant"}, 400)
        return self._json(self._tokens_for(grant["sub"], grant["nonce"]))

    def _tokens_for(self, sub: str, nonce: str | None, id_token: bool = True) -> dict[str, Any]:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self._access[access] = sub
        self._refresh[refresh] = sub
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 300,
                                  "refresh_token": refresh}
        if id_token:
            claims = self.base_claims(sub, nonce)
            for name, value in self.id_token_claims.items():
                if value is None:
                    claims.pop(name, None)
                else:
                    claims[name] = value
            answer["id_token"] = self.forge(claims) if self.forge else self.sign(claims)
            self.issued_id_tokens.append(answer["id_token"])
        return answer

    def _userinfo(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        sub = self._access.get(token)
        if sub is None:
            return self._json({"error": "invalid_token"}, 401)
        return self._json(self.users[sub])

    def _end_session(self, request: Request) -> Response:
        params = dict(request.args)
        self.end_session_requests.append(params)
        return Response(status=302, headers={"Location": params.get("post_logout_redirect_uri", "/")})


@contextmanager
def serve(idp: FakeIdP) -> Iterator[FakeIdP]:
    """Run ``idp`` on 127.0.0.1 (an ephemeral port) for the block."""
    server = make_server("127.0.0.1", 0, idp.wsgi, threaded=True)
    idp.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        thread.join(5)
