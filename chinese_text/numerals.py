"""Chinese, Arabic and mixed numerals ('三千五', '3千5', '三八二一'), read with cn2an.

The character classes only say which characters may belong to a number, so a span can be cut
out of a sentence; cn2an does the arithmetic.
"""
from __future__ import annotations

import re

import cn2an

from chinese_text.script import to_simplified

CN_DIGITS = "零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖幺"
CN_UNITS = "十百千万亿拾佰仟"
NUM_CHARS = "0-9" + CN_DIGITS + CN_UNITS
NUM = f"[{NUM_CHARS}]+"


def clean_numbers(text: str) -> str:
    """Simplified script, no thousands separators, no spaces inside numbers."""
    text = to_simplified(text).strip()
    text = re.sub(r"(?<=\d)[,，](?=\d{3}(?!\d))", "", text)
    return re.sub(rf"(?<=[{NUM_CHARS}])\s+(?=[{NUM_CHARS}])", "", text)


def cn_int(span: str) -> int | None:
    """Integer value of a Chinese / Arabic / mixed numeral ('三千五', '3千5', '2000')."""
    if span.isascii() and span.isdigit():
        return int(span)
    try:
        value = cn2an.cn2an(span, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def cn_digit_string(span: str) -> str | None:
    """Digit-by-digit reading ('三八二一' → '3821', '零五' → '05')."""
    if span.isascii() and span.isdigit():
        return span
    try:
        digits = cn2an.cn2an(span, "direct")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return digits if isinstance(digits, str) and digits.isdigit() else None
