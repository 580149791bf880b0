"""Script normalisation: full-width to half-width and Traditional to Simplified Chinese."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _t2s_converter() -> Any:
    from opencc import OpenCC  # opencc-python-reimplemented

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """NFKC (full-width → half-width) then Traditional → Simplified."""
    return str(_t2s_converter().convert(unicodedata.normalize("NFKC", text)))
