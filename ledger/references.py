"""The one masked form of a borrower, account or conversation reference, for logs and for staff lists:
its first character and last three ('B***016'), enough to correlate, not to identify."""
from __future__ import annotations


def mask_reference(reference: str | None) -> str:
    if not reference:
        return "-"
    return reference[:1] + "***" + reference[-3:]
