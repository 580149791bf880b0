"""Secret keys the gateway keeps outside its database (the audit chain's, the borrower links', the bearer keys of the
payments API and of /metrics): from a setting (a deployment's secret store) or else from a key file, created with 32
random bytes and mode 0600 on first start, and refused if other users can read it."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from pydantic import SecretStr
from starlette.requests import HTTPConnection

KEY_BYTES = 32
MIN_KEY_BYTES = 16
_PRIVATE = 0o600


class SecretKeyError(ValueError):
    pass


def load_secret_key(configured: SecretStr | None, path: Path, setting_name: str) -> bytes:
    """The configured key, or the key file's (created now if missing)."""
    if configured is not None:
        key = configured.get_secret_value().encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise SecretKeyError(f"{setting_name} must be at least {MIN_KEY_BYTES} characters")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise SecretKeyError(f"{path} is readable by other users; chmod 600 it") from None
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < MIN_KEY_BYTES:
            raise SecretKeyError(f"{path} does not hold a key (hex, at least {MIN_KEY_BYTES} bytes)")
        return key
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(key.hex() + "\n")
    return key


def load_bearer_text(configured: SecretStr | None, path: Path, setting_name: str) -> str:
    """A key a client presents as text (`Authorization: Bearer <key>`): the setting's text, or the key file's."""
    if configured is not None:
        load_secret_key(configured, path, setting_name)  # refuses a short key
        return configured.get_secret_value()
    return load_secret_key(None, path, setting_name).hex()


def presented_secret(connection: HTTPConnection) -> str | None:
    """What a client presents as `Authorization: Bearer <secret>`, if anything."""
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


class BearerKey:
    """Checks a presented bearer key against the one loaded."""

    def __init__(self, key: str) -> None:
        # Digests of equal length: the comparison takes the same time whatever was presented, even its length.
        self._digest = hashlib.sha256(key.encode("utf-8")).digest()

    def admits(self, presented: str | None) -> bool:
        if not presented:
            return False
        return hmac.compare_digest(hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest(), self._digest)
