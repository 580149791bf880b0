"""The last four characters of a PRC identity card, typed or spoken ('三 八 二 一', '382x')."""
from __future__ import annotations

import re
import unicodedata

import english_text
from chinese_text.numerals import cn_digit_string
from chinese_text.script import to_simplified

# Spoken digit variants: 幺 = 1 (cn2an knows it), 洞 = 0 (radio / phone speech).
_SPOKEN_DIGITS = {"洞": "零"}
_ID_RUN = re.compile(r"[0-9零〇一二三四五六七八九幺Xx]+")
_ID_CHARACTER = re.compile(r"[0-9零〇一二三四五六七八九幺洞Xx]")
_SPACED_ID_RUN = re.compile(r"[0-9零〇一二三四五六七八九幺洞Xx](?:\s*[0-9零〇一二三四五六七八九幺洞Xx])*")


def parse_id_last4(text: str) -> str | None:
    """Last four characters of a PRC ID ('三 八 二 一' → '3821', '382x' → '382X')."""
    cleaned = re.sub(r"\s+", "", to_simplified(text))
    for spoken, digit in _SPOKEN_DIGITS.items():
        cleaned = cleaned.replace(spoken, digit)
    runs = [run for run in _ID_RUN.findall(cleaned) if len(run) == 4]
    if len(set(runs)) != 1:
        return None
    run = runs[0]
    check = run[-1].upper()
    if check == "X":
        head = cn_digit_string(run[:3])
        return None if head is None or len(head) != 3 else head + "X"
    digits = cn_digit_string(run)
    return digits if digits is not None and len(digits) == 4 else None


_LATIN_LETTER = re.compile(r"[A-Za-z]")
_BARE_ID_ANSWER = re.compile(r"^[\s，。,.!！]*([0-9零〇一二三四五六七八九幺洞Xx]\s*){4}[\s，。,.!！]*$")


def bare_id_last4(text: str) -> str | None:
    """The ID digits when the whole message is just four ID characters, else None."""
    return parse_id_last4(text) if _BARE_ID_ANSWER.match(to_simplified(text)) else None


# What may surround four ID characters in a corrected or resumed answer ('不对不对，5448', '哦说错了，是5448', '好了，5448').
_CORRECTION = re.compile(r"^(?:不对|不是|说错了|错了|搞错了|刚才|应该是|重新说|我说|好了|好|行|是|哦|噢|啊|嗯|呃|额|sorry|no|oops|"
                         r"[\s，。,.!！…~])*$", re.IGNORECASE)


def corrected_id_span(text: str) -> tuple[int, int] | None:
    """Where four ID characters sit in a message that is only them and words correcting an earlier answer, else
    None: a correction answers the ID question like the bare digits do."""
    runs = [match for match in _SPACED_ID_RUN.finditer(text) if len(re.sub(r"\s", "", match.group())) == 4]
    if len(runs) != 1 or parse_id_last4(runs[0].group()) is None:
        return None
    run = runs[0]
    return (run.start(), run.end()) if _CORRECTION.match(text[:run.start()] + text[run.end():]) else None


def mask_id_last4(text: str) -> str:
    """The text with its ID characters starred ('后四位是3821' → '后四位是****') when it gives the last four
    of an ID at all (full-width digits too, as the NLU's NFKC would read them); otherwise unchanged."""
    normalised = unicodedata.normalize("NFKC", text)
    if parse_id_last4(normalised) is None:
        # English: 'it's four four one seven', 'ending in 4417'.
        return english_text.mask_id_last4(text) if _LATIN_LETTER.search(normalised) else text

    def star(run: re.Match[str]) -> str:
        characters = run.group()
        return _ID_CHARACTER.sub("*", characters) if len(re.sub(r"\s", "", characters)) == 4 else characters

    return _SPACED_ID_RUN.sub(star, normalised)
