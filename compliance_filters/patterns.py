"""Validation shared by the YAML files a compliance officer edits (rules.yml, distress.yml)."""
from __future__ import annotations

import re
from collections.abc import Iterable


def require_valid_regexes(patterns: Iterable[str]) -> None:
    """Raises ValueError naming the first pattern that does not compile."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"bad regex {pattern!r}: {exc}") from None
