"""API Gateway HTTP API JWT authorizer, emulated against the moto Cognito pools.

The deployed API rejects a request before any Lambda runs unless its token verifies; locally the
same check runs so a handler is never reached by a request AWS would have refused, and the
handler sees the claims exactly as API Gateway renders them (every value a string, arrays as
``"[a b]"``), not as the raw JWT has them.

The workflow AWS documents (http-api-jwt-authorizer): read the identity source
(``Authorization``, the token alone or prefixed with ``Bearer``); check the signing key (``kid``)
against the issuer's JWKS; ``iss`` equals the configured issuer; ``aud`` (or ``client_id`` when
there is no ``aud``) is one of the configured audiences; ``exp``/``nbf``/``iat`` against now.
A failure is ``401 {"message":"Unauthorized"}`` with a ``www-authenticate`` header that says why.

The JWKS comes from the moto server (``/<pool_id>/.well-known/jwks.json``), as API Gateway
fetches it from the issuer.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt


class Unauthorized(Exception):
    """The token was missing or invalid; ``str(exc)`` is the www-authenticate description."""


@dataclass(frozen=True)
class JwtAuthorizer:
    issuer: str
    audiences: tuple[str, ...]
    jwks: jwt.PyJWKSet
    leeway_s: int = 0

    def authorize(self, authorization: str | None, now: float | None = None) -> dict[str, Any]:
        """``{"claims": {...rendered}, "scopes": [...] | None}`` or raise :class:`Unauthorized`."""
        token = extract_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("the token is not a valid JWT") from exc
        kid = header.get("kid")
        key = next((k for k in self.jwks.keys if k.key_id == kid), None)
        if key is None:
            raise Unauthorized("the token's kid does not match a key of the issuer")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized("the token signature is invalid") from exc
        check_claims(claims, issuer=self.issuer, audiences=self.audiences, now=now, leeway_s=self.leeway_s)
        scope = claims.get("scope") or claims.get("scp")
        scopes = scope.split() if isinstance(scope, str) else (list(scope) if scope else None)
        return {"claims": render_claims(claims), "scopes": scopes}


def extract_token(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Unauthorized("the token is missing")
    value = authorization.strip()
    if value.lower() == "bearer":
        value = ""
    elif value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not value:
        raise Unauthorized("the token is missing")
    return value


def check_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    audiences: tuple[str, ...],
    now: float | None = None,
    leeway_s: int = 0,
) -> None:
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise Unauthorized("the token does not have a valid issuer")
    if "aud" in claims:
        aud = claims["aud"]
        candidates = [aud] if isinstance(aud, str) else list(aud or [])
    else:
        candidates = [claims.get("client_id")]
    if not any(candidate in audiences for candidate in candidates):
        raise Unauthorized("the token does not have a valid audience")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or now >= exp + leeway_s:
        raise Unauthorized("the token has expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and now + leeway_s < nbf:
        raise Unauthorized("the token is not valid yet")
    iat = claims.get("iat")
    if isinstance(iat, int | float) and now + leeway_s < iat:
        raise Unauthorized("the token was issued in the future")


def render_claim(value: Any) -> str:
    """API Gateway's rendering: strings as is, lists ``"[a b]"``, JSON scalars as their text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + " ".join(render_claim(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    return {name: render_claim(value) for name, value in claims.items()}


def fetch_jwks(url: str, timeout_s: float = 5.0) -> jwt.PyJWKSet:
    # The URL is built from the local moto endpoint, never from request input.
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
        return jwt.PyJWKSet.from_dict(json.load(response))


def unauthorized_headers(reason: str) -> dict[str, str]:
    return {
        "www-authenticate": f'Bearer scope="" error="invalid_token" error_description="{reason}"',
    }
