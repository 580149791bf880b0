"""Spelled numbers as digits ('three hundred and fifty' → '350', 'four four one seven' → '4 4 1 7'), by text2num."""
from __future__ import annotations

import re
import unicodedata

from text_to_num import alpha2digit

_ARTICLE_BEFORE_NUMBER = re.compile(r"\ban? (?=\d)")


def words_to_digits(text: str) -> str:
    """Lower case, half-width, single spaces, every spelled number as digits ('a hundred' → '100')."""
    cleaned = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()
    # threshold=0: the default leaves 'one', 'two' and 'first' spelled, and those are counts and days here.
    digits = alpha2digit(cleaned, "en", threshold=0)
    return _ARTICLE_BEFORE_NUMBER.sub("", digits)  # text2num reads 'a hundred' as 'a 100'
