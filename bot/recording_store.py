"""Where call recordings are kept, by key. The filesystem is the default; an object store (S3 and the like) would be
another RecordingStore: written as the call goes (a local spool uploaded at `close`), read by byte range."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

READ_CHUNK_BYTES = 64 * 1024
KEY = re.compile(r"^[0-9]{4}/[0-9]{2}/[A-Za-z0-9_-]{1,64}\.[a-z0-9]{2,5}$")


class RecordingStore(Protocol):
    location: str  # for the ledger row and the operator: a directory, a bucket

    def create(self, key: str) -> BinaryIO:
        """A new recording's sink, written while the call lasts; closing it completes the recording."""

    def size(self, key: str) -> int:
        """FileNotFoundError for a key it does not hold."""

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The bytes [start, start + length), in chunks."""

    def delete(self, key: str) -> bool:
        """False when it was already gone."""


def recording_key(conversation_id: str, year: int, month: int, extension: str) -> str:
    """By month, so a directory never holds every call; the conversation id names the file."""
    key = f"{year:04d}/{month:02d}/{conversation_id}.{extension}"
    if not KEY.match(key):
        raise ValueError("a recording key is YYYY/MM/<conversation id>.<extension>")
    return key


class FileRecordingStore:
    """Recordings as files under one directory (mode 0600: they hold what borrowers said)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self.location = str(directory)

    def _path(self, key: str) -> Path:
        if not KEY.match(key):  # a key from the ledger never climbs out of the directory
            raise ValueError(f"not a recording key: {key!r}")
        return self._directory / key

    def create(self, key: str) -> BinaryIO:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrites a recording
        return os.fdopen(descriptor, "wb")

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        with self._path(key).open("rb") as file:
            file.seek(start)
            left = length
            while left is None or left > 0:
                chunk = file.read(READ_CHUNK_BYTES if left is None else min(READ_CHUNK_BYTES, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True
