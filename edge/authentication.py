"""Who is calling: bearer JWTs and API keys, checked before anything executes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from i18n import N_
from resolvers.authorization import ALL_WORKSPACES, DEV_PRINCIPAL, SCOPE_ORDER, Principal
from storage import Store, StoreError

API_KEY_PREFIX = "tk_"
_API_KEY = re.compile(r"tk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
LEEWAY_SECONDS = 60
# How often an open subscription's API key is looked up again (TAGS_CREDENTIAL_RECHECK_S).
RECHECK_SECONDS = 30
# Why an open subscription ended (English msgids; translated where they are written).
EXPIRED = N_("The token has expired.")
REVOKED = N_("The API key has been revoked.")


class Unauthenticated(Exception):
    """No usable credentials; answered with HTTP 401 and nothing executed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # English, as raised; translated where the 401 is written.
        self.message = message


@dataclass(frozen=True, slots=True)
class Credentials:
    """A principal and how long the credentials that made it stay good."""

    principal: Principal
    # When a request with the same JWT starts being refused: `exp` plus the
    # leeway, in epoch seconds. None: no end in time (an API key, dev mode).
    expires_at: float | None = None
    # An API key can be revoked at any moment; None for JWTs and dev mode.
    api_key_id: str | None = None

    @property
    def rate_key(self) -> str:
        """Whom a request counts against: a JWT's `sub`, or an API key's id."""
        kind = "key" if self.api_key_id is not None else "sub"
        return f"{kind}:{self.principal.id}"

    @property
    def can_end(self) -> bool:
        return self.expires_at is not None or self.api_key_id is not None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """(key id, the key itself). The key is shown once; only its hash is kept."""
    key_id = secrets.token_hex(8)
    return key_id, f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def _scopes(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, str):
        raise Unauthenticated("The token's scope claim must be a string.")
    return tuple(s for s in raw.split() if s in SCOPE_ORDER)


def _workspaces(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(w, str) for w in raw):
        raise Unauthenticated("The token's workspaces claim must be a list of ids.")
    return tuple(raw)


@dataclass(frozen=True, slots=True)
class Authenticator:
    dev_mode: bool
    secret: str | None
    public_key: Any | None
    public_algorithm: str | None
    audience: str | None
    issuer: str | None
    recheck_seconds: float = RECHECK_SECONDS

    @classmethod
    def configure(
        cls,
        *,
        auth_mode: str,
        jwt_secret: str | None,
        jwt_public_key: str | None,
        jwt_audience: str | None,
        jwt_issuer: str | None,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> Authenticator:
        """From the TAGS_AUTH_MODE, TAGS_JWT_* and TAGS_CREDENTIAL_RECHECK_S settings."""
        key: Any | None = None
        algorithm = None
        if jwt_public_key:
            key = load_pem_public_key(jwt_public_key.encode())
            if isinstance(key, rsa.RSAPublicKey):
                algorithm = "RS256"
            elif isinstance(key, ec.EllipticCurvePublicKey):
                algorithm = "ES256"
            else:
                raise ValueError("TAGS_JWT_PUBLIC_KEY: only RSA and EC public keys are supported")
        return cls(
            dev_mode=auth_mode == "dev",
            secret=jwt_secret,
            public_key=key,
            public_algorithm=algorithm,
            audience=jwt_audience,
            issuer=jwt_issuer,
            recheck_seconds=recheck_seconds,
        )

    async def authenticate(self, headers: Mapping[str, str], store: Store) -> Principal:
        """The caller's principal; raises Unauthenticated for missing or bad credentials."""
        return (await self.identify(headers, store)).principal

    async def identify(self, headers: Mapping[str, str], store: Store) -> Credentials:
        """The caller's principal and when its credentials end; raises Unauthenticated."""
        credential = _credential(headers)
        if credential is None:
            if self.dev_mode:
                return Credentials(DEV_PRINCIPAL)
            raise Unauthenticated("Credentials are required.")
        if credential.startswith(API_KEY_PREFIX):
            return await self._api_key(credential, store)
        return self._jwt(credential)

    async def ended(self, credentials: Credentials, store: Store) -> str:
        """Returns, with the reason, once `credentials` would no longer be accepted.

        A JWT ends at `exp` plus the leeway, the moment a new request with it
        is refused; an API key is looked up again every `recheck_seconds`, so a
        revoked or deleted key ends within that bound. A key lookup the store
        does not answer keeps the credentials alive until the next one.
        Never returns for credentials that cannot end (dev mode without any).
        """
        if not credentials.can_end:
            await asyncio.Future()
        while True:
            wait = self.recheck_seconds if credentials.api_key_id is not None else None
            if credentials.expires_at is not None:
                left = credentials.expires_at - time.time()
                if left <= 0:
                    return EXPIRED
                wait = left if wait is None else min(wait, left)
            assert wait is not None
            await asyncio.sleep(wait)
            if credentials.expires_at is not None and time.time() >= credentials.expires_at:
                return EXPIRED
            if credentials.api_key_id is not None:
                try:
                    doc = await store.api_keys.get(credentials.api_key_id)
                except StoreError:
                    continue
                if doc is None or doc.get("revokedAt") is not None:
                    return REVOKED

    def _jwt(self, token: str) -> Credentials:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise Unauthenticated("The token is malformed.") from None
        # The key follows from the algorithm we accept, never the other way round:
        # an HS256 token is checked with the secret only, so a public key can
        # never be abused as an HMAC secret, and "none" matches no key at all.
        if algorithm == "HS256" and self.secret:
            key: Any = self.secret
        elif algorithm is not None and algorithm == self.public_algorithm:
            key = self.public_key
        else:
            raise Unauthenticated("The token's algorithm is not accepted.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.InvalidTokenError:
            raise Unauthenticated("The token is invalid or expired.") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("The token has no subject.")
        principal = Principal(
            id=subject,
            scopes=_scopes(claims.get("scope")),
            workspace_ids=_workspaces(claims.get("workspaces")),
        )
        # `require` above makes `exp` present and PyJWT has checked it is a number.
        return Credentials(principal, expires_at=float(claims["exp"]) + LEEWAY_SECONDS)

    async def _api_key(self, key: str, store: Store) -> Credentials:
        match = _API_KEY.fullmatch(key)
        if match is None:
            raise Unauthenticated("The API key is malformed.")
        doc = await store.api_keys.get(match.group(1))
        # Compare the hashes in constant time even when the id is unknown.
        expected = doc["hash"] if doc else hash_key("")
        if not hmac.compare_digest(hash_key(key), expected) or doc is None:
            raise Unauthenticated("The API key is not valid.")
        if doc.get("revokedAt") is not None:
            raise Unauthenticated("The API key has been revoked.")
        principal = Principal(
            id=doc["_id"],
            scopes=tuple(doc.get("scopes") or ()),
            workspace_ids=tuple(doc.get("workspaces") or ()),
        )
        return Credentials(principal, api_key_id=doc["_id"])


def _credential(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Use the Bearer authorization scheme.")
        return value.strip()
    api_key = headers.get("x-api-key")
    return api_key.strip() if api_key else None


__all__ = [
    "ALL_WORKSPACES",
    "Authenticator",
    "Credentials",
    "Unauthenticated",
    "hash_key",
    "new_api_key",
]
