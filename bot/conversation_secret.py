"""A conversation's own credential, so that knowing a conversation id grants nothing.

Opening a chat issues a random secret that only the borrower's client receives (once, in the open
response); the session store keeps only its SHA-256 (the secret has 256 random bits, so a plain hash is
enough and a store reader cannot present it). Every borrower endpoint compares in constant time.
Conversations opened without one (phone calls, WeChat) cannot be reached through the borrower API at all.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_BYTES = 32


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue() -> tuple[str, str]:
    """A new secret and the digest to store beside the conversation."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, digest(secret)


def matches(secret: str | None, stored_digest: str) -> bool:
    # Hashed even when absent, so a missing and a wrong secret take the same path.
    presented = digest(secret or "")
    return bool(stored_digest) and hmac.compare_digest(presented, stored_digest)
