"""API keys: random, shown once, stored only as a hash. Pure: no storage here."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "mtk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """SHA-256 of the key. Keys carry 256 random bits, so a fast hash is enough: nothing to brute-force."""
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None when it is not one."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or len(token) > 256:
        return None
    return token
