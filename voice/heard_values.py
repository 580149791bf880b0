"""The numbers a caller said that the dialogue would act on (instalment counts, amounts, dates), found in an ASR
transcript so that a number the recogniser was unsure of, or one the policy would never allow, is read back to
the caller before anything is done with it ("能不能分十二个月" heard as "能不能分下2个月环" must not become a
two-instalment plan). Keyed (DTMF) entries are certain and never pass through here."""
from __future__ import annotations

import re
from dataclasses import dataclass

from chinese_text.amounts import parse_periods
from chinese_text.dates import date_spans
from chinese_text.identity import bare_id_last4
from chinese_text.numerals import NUM, NUM_CHARS

# A number and the word that says what it counts; a bare number is kept too (it may answer "how much?").
_UNIT = r"(?:\s*(?:个月|期|块钱|块|元|千|万|百|号|日|dollars?|bucks|months?|instal?lments?|payments?|k\b))?"
_NUMBER = re.compile(rf"\$?{NUM}(?:[.,]\d+)?{_UNIT}", re.IGNORECASE)
# Words that make four digits an amount or a count, not the ID answer.
_VALUE_WORDS = re.compile(r"还|期|月|块|元|钱|号|pay|month|dollar|\$", re.IGNORECASE)
# The answer to the ID question: checked against the ledger itself, and never read back aloud.
_ID_ANSWER = re.compile(r"身份证|后四位|尾号|四位|last (?:four|4)|\bID\b|social", re.IGNORECASE)


@dataclass(frozen=True)
class HeardValues:
    said: tuple[str, ...]  # each number as heard, with its unit ('2个月', '三千块', '12月9日')
    periods: tuple[int, ...]  # the instalment counts among them


def heard_values(text: str) -> HeardValues:
    """The value phrases in `text`, in order. The ID answer is left out ('身份证后四位是5448', or four bare digits
    without words that make them an amount or a count): the ID check compares it itself."""
    if _ID_ANSWER.search(text):
        return HeardValues((), ())
    spans = [(start, end) for start, end in date_spans(text)]
    for match in _NUMBER.finditer(text):
        if not any(start <= match.start() < end for start, end in spans) and re.search(f"[{NUM_CHARS}]", match.group()):
            spans.append((match.start(), match.end()))
    said = [text[start:end].strip() for start, end in sorted(spans)]
    if len(said) == 1 and bare_id_last4(said[0]) is not None and not _VALUE_WORDS.search(text):
        said = []
    periods = tuple(count for phrase in said if re.search(r"期|个月|month|instal|payment", phrase, re.IGNORECASE)
                    and (count := parse_periods(phrase)) is not None)
    return HeardValues(tuple(said), periods)


_NO = re.compile(r"不是|不对|错了|说错|不要|^不$|\bno\b|\bnope\b|\bwrong\b|\bnot\b", re.IGNORECASE)
_YES = re.compile(r"是|对|没错|嗯|好的|可以|行|\byes\b|\byeah\b|\byep\b|\bright\b|\bcorrect\b|\bsure\b",
                  re.IGNORECASE)


def confirmation_answer(text: str) -> bool | None:
    """The caller's answer to "did you say …?": True, False, or None when the words carry a number (said again,
    perhaps corrected: a new turn) or neither answer."""
    if heard_values(text).said:
        return None
    if _NO.search(text):
        return False
    return True if _YES.search(text) else None


# Words that say the caller is giving the ID answer, even when the digits after them were not heard.
_ID_WORDS = re.compile(r"身份证|后四位|尾号|last (?:four|4)|\bID\b", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
# English dates the Chinese date parser does not read (English numbers are digits in the transcript already).
_ENGLISH_DATE = re.compile(r"\b(?:today|tomorrow|tonight|(?:mon|tues|wednes|thurs|fri|satur|sun)day|weekend|"
                           r"(?:next|this|end of the) (?:week|month)|january|february|march|april|june|july|"
                           r"august|september|october|november|december)\b", re.IGNORECASE)


def carries_id_answer(text: str) -> bool:
    """Whether `text` (a normalised transcript) gives the ID answer, by its own words ("身份证后四位是…", "last four"),
    whether or not its digits were heard."""
    return bool(_ID_WORDS.search(text))


def carries_numbers(text: str) -> bool:
    """Whether `text` (a normalised transcript) carries anything numeric the dialogue or the ledger acts on: digits
    (an amount, a count, the ID answer, "381" for a misheard ID), a date or weekday, or the ID answer's own words
    whose digits may have been dropped ("我身份证后四位是"). A lone 一 is not a number here: it is mostly 一点, 一下,
    一次性, and would make every such sentence count. With COLLECTIONS_VOICE_ASR_CAREFUL_REDECODE=numbers the ASR
    engine decodes such words again with its careful window."""
    if _DIGIT.search(text) or _ID_WORDS.search(text) or _ENGLISH_DATE.search(text):
        return True
    return any(phrase != "一" for phrase in heard_values(text).said)
