"""Memory the process freed, given back to the system: glibc keeps freed heap for reuse unless asked (malloc_trim),
so a replica's resident size still counts what building its model or jieba's trie used only once."""
from __future__ import annotations

import ctypes


def return_to_system() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the memory stays with the process, nothing else changes
        pass
