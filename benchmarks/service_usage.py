"""Resident memory and CPU time of each service a stack started: sums over its process group (Linux /proc).

CPU seconds per message hold up on a shared machine where latency does not: another process's load slows a turn
but adds little to the CPU the turn itself takes."""
from __future__ import annotations

import os
from pathlib import Path

from bot.launcher import Stack

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _group_usage(group: int) -> tuple[int, float]:
    """(resident bytes, CPU seconds used so far) of the processes in a process group."""
    rss, cpu_ticks = 0, 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            statm = (stat.parent / "statm").read_text()
        except OSError:
            continue  # ended while we looked
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, pgrp, ...
        if int(fields[2]) == group:
            rss += int(statm.split()[1]) * PAGE_BYTES
            cpu_ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return rss, cpu_ticks / TICKS_PER_SECOND


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """Service name -> CPU seconds its processes have used so far."""
    return {name: _group_usage(pid)[1] for name, pid in stack.service_pids().items()}


def resident_memory(stack: Stack) -> dict[str, int]:
    """Service name -> resident bytes now."""
    return {name: _group_usage(pid)[0] for name, pid in stack.service_pids().items()}


def memory_table(stack: Stack) -> str:
    return "\n".join(f"  {name:<10} {rss / 2**20:7.0f} MiB" for name, rss in sorted(resident_memory(stack).items()))
