"""What keeps the audit chain honest against someone who can write the database: the HMAC key and the
signed anchor file, both outside the database.

The key is COLLECTIONS_AUDIT_KEY when set (a deployment's secret store), otherwise the file
COLLECTIONS_AUDIT_KEY_FILE (var/audit.key), created with 32 random bytes and mode 0600 on first start.
Without the key nobody can re-sign an edited record, so an edit shows however the hashes after it are
recomputed.

The anchor file (COLLECTIONS_AUDIT_ANCHOR_FILE, var/audit.anchor, mode 0600) holds the newest record the
gateway wrote (`head`) and where the last retention purge left the chain (`floor`), with an HMAC over
both. A database writer can neither truncate the chain's tail (the head record must still be there, with
its hash) nor delete a prefix and pose it as a purge (the database's checkpoint must match the floor).
Writers on one host take an exclusive lock on the file, so a purge and the gateway never lose each
other's update and the head only moves forward.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bot.key_files import SecretKeyError, load_secret_key
from configuration.settings import AuditSettings

_PRIVATE = 0o600


# One kind of error for every key file (bot.key_files); the name stays for the audit's callers.
AuditKeyError = SecretKeyError


def load_audit_key(settings: AuditSettings) -> bytes:
    """The configured key, or the key file's (created now if missing)."""
    return load_secret_key(settings.key, settings.key_file, "COLLECTIONS_AUDIT_KEY")


def mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainPoint:
    record_id: int
    record_hash: str


@dataclass(frozen=True)
class Anchor:
    head: ChainPoint | None
    floor: ChainPoint | None


class AnchorFileError(RuntimeError):
    pass


class AnchorFile:
    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key

    def read(self) -> Anchor | None:
        """The anchor, None when no file was written yet; AnchorFileError when its signature is wrong."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise AnchorFileError(f"{self.path}: unreadable ({error})") from None
        body = {"head": raw.get("head"), "floor": raw.get("floor")}
        if not hmac.compare_digest(str(raw.get("mac", "")), mac(self._key, _canonical(body))):
            raise AnchorFileError(f"{self.path}: signature does not match (edited, or another key)")
        return Anchor(_point(body["head"]), _point(body["floor"]))

    def advance_head(self, record_id: int, record_hash: str) -> None:
        with self._locked():
            current = self.read() or Anchor(None, None)
            if current.head is None or record_id > current.head.record_id:
                self._write(Anchor(ChainPoint(record_id, record_hash), current.floor))

    def set_floor(self, record_id: int, record_hash: str) -> None:
        with self._locked():
            current = self.read() or Anchor(None, None)
            self._write(Anchor(current.head, ChainPoint(record_id, record_hash)))

    def reset(self, anchor: Anchor) -> None:
        """After a migration re-signed the chain: the old head's hash no longer exists anywhere."""
        with self._locked():
            self._write(anchor)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, _PRIVATE)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)

    def _write(self, anchor: Anchor) -> None:
        body = {"head": _as_json(anchor.head), "floor": _as_json(anchor.floor)}
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(json.dumps({**body, "mac": mac(self._key, _canonical(body))}))  # one write (json.dump: dozens)
        os.replace(temporary, self.path)  # readers see the old anchor or the new one, never half of one


def _canonical(body: dict) -> str:
    return "audit-anchor:" + json.dumps(body, sort_keys=True, separators=(",", ":"))


def _as_json(point: ChainPoint | None) -> dict | None:
    return None if point is None else {"id": point.record_id, "hash": point.record_hash}


def _point(raw: dict | None) -> ChainPoint | None:
    return None if raw is None else ChainPoint(int(raw["id"]), str(raw["hash"]))
