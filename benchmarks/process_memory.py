"""Resident memory of each service a stack started: the sum over its process group (Linux /proc)."""
from __future__ import annotations

import os
from pathlib import Path

from bot.launcher import Stack

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _group_rss_bytes(group: int) -> int:
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            statm = (stat.parent / "statm").read_text()
        except OSError:
            continue  # ended while we looked
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, pgrp, ...
        if int(fields[2]) == group:
            total += int(statm.split()[1]) * PAGE_BYTES
    return total


def resident_memory(stack: Stack) -> dict[str, int]:
    """Service name -> resident bytes now."""
    return {name: _group_rss_bytes(pid) for name, pid in stack.service_pids().items()}


def memory_table(stack: Stack) -> str:
    return "\n".join(f"  {name:<10} {rss / 2**20:7.0f} MiB" for name, rss in sorted(resident_memory(stack).items()))
