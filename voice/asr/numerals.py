"""Transcript normalisation before NLU: Simplified script, one form for numbers (Arabic digits), and the weekday's
周 where a phone line made Whisper write a character that sounds like it.

Whisper writes the same spoken number either way ('三八二一' or '3821', '两千块' or '2000块'); the
NLU's entity parsers read both, but the classifier and extractor see fewer distinct forms if ASR
always hands over digits. Only numerals that are clearly quantities are rewritten: digit-by-digit
runs (ID digits, phone numbers) and numerals followed by a money, instalment or date unit. Words
that merely contain a numeral character (一次性, 一下, 周五, 十分) are left alone.
"""
from __future__ import annotations

import re

import cn2an

from chinese_text import to_simplified

_DIGIT_CHARS = "零〇一二两三四五六七八九幺"
_UNIT_CHARS = "十百千万"
# Spoken digits read one by one: at least three in a row (ID tails, phone numbers, years).
_DIGIT_RUN = re.compile(f"[{_DIGIT_CHARS}]{{3,}}")
# A quantity: numeral (with 十/百/千/万) right before a unit that makes it a number, not a word.
_QUANTITY_UNITS = "块钱|块|元|万|期|个月|号|日|月|天|年|岁|毛|角|分钱"
_QUANTITY = re.compile(f"(?<![{_DIGIT_CHARS}{_UNIT_CHARS}])([{_DIGIT_CHARS}{_UNIT_CHARS}]+)(?=(?:{_QUANTITY_UNITS}))")
# 两千五 / 三千五百 without a unit word is still an amount once it has a 千/百/万 in it.
_COMPOUND = re.compile(f"[{_DIGIT_CHARS}]+[百千万][{_DIGIT_CHARS}{_UNIT_CHARS}]*")
_THOUSANDS_SEPARATOR = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_SPACE_BETWEEN_HAN = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
# Weekdays are names, not quantities: 周五 / 星期三 / 礼拜六 stay as written.
_WEEKDAY_PREFIX = ("周", "星期", "礼拜")
# 周 (zhōu) on an 8 kHz line comes out of Whisper as a character that sounds alike ("我这中五先还…": d06 in some
# calls). After 这/下/上/本 and before a weekday number it can only be 周; none of these pairs is a word there
# (这种 and 这重 are, so 种 and 重 are not listed). Not before a unit: "下中三年级" is a school grade.
_MISHEARD_WEEK = re.compile(r"(?<=[这下上本])[中钟州洲舟粥轴](?=[一二三四五六日天](?![年级班届期个月号块元点次]))")


def _to_int_text(span: str, method: str) -> str | None:
    try:
        value = cn2an.cn2an(span, method)
    except (ValueError, KeyError, TypeError):
        return None
    return str(value)


def _digit_run(match: re.Match[str]) -> str:
    if _is_weekday(match):
        return match.group(0)
    return _to_int_text(match.group(0).replace("两", "二").replace("幺", "一"), "direct") or match.group(0)


def _quantity(match: re.Match[str]) -> str:
    if _is_weekday(match):
        return match.group(0)
    return _to_int_text(match.group(0), "smart") or match.group(0)


def _is_weekday(match: re.Match[str]) -> bool:
    before = match.string[: match.start()]
    return before.endswith(_WEEKDAY_PREFIX) and len(match.group(0)) == 1


def normalise_transcript(text: str) -> str:
    """'我身份證後四位是三八二一，先還兩千塊' → '我身份证后四位是3821，先还2000块'; '我这中五还' → '我这周五还'."""
    text = to_simplified(text).strip()
    text = _SPACE_BETWEEN_HAN.sub("", text)
    text = _MISHEARD_WEEK.sub("周", text)
    text = _THOUSANDS_SEPARATOR.sub("", text)
    text = _DIGIT_RUN.sub(_digit_run, text)
    text = _COMPOUND.sub(_quantity, text)
    return _QUANTITY.sub(_quantity, text)
