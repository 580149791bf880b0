"""The last four characters of an ID, typed or spoken ('four four one seven', '44 17', 'ending in 4417', '441X')."""
from __future__ import annotations

import re

from english_text.numbers import words_to_digits

# 'last four' and 'four digits' name the count, not a digit of the ID.
_COUNT_WORDS = re.compile(r"\b(?:last|final)\s+(?:four|4)\b|\b(?:four|4)\s+(?:digits|numbers)\b")
_SINGLE_DIGIT = re.compile(r"\d")
_SPOKEN_ZERO = ("o", "oh")
# Digits (and an X check character) separated by nothing but spaces or hyphens are one run: '44 17', '4-4-1-7'.
_ID_RUN = re.compile(r"(?<![a-z\d])[\dx](?:[\s-]*[\dx])*(?![a-z\d])")
_LAST4 = re.compile(r"\d{4}|\d{3}x")


def _spoken_zeros_as_digits(text: str) -> str:
    """'four oh one seven' → '4 0 1 7': 'oh' is a zero only beside another spoken digit."""
    words = text.split(" ")
    for index, word in enumerate(words):
        neighbours = words[max(index - 1, 0): index] + words[index + 1: index + 2]
        if word in _SPOKEN_ZERO and any(_SINGLE_DIGIT.fullmatch(neighbour) for neighbour in neighbours):
            words[index] = "0"
    return " ".join(words)


def parse_id_last4(text: str) -> str | None:
    """Last four characters of an ID ('4 4 1 7' → '4417', 'forty four seventeen' → '4417', '441x' → '441X').

    None unless exactly one run of four is named (a check X only last), as the Chinese reader does.
    """
    cleaned = _spoken_zeros_as_digits(words_to_digits(_COUNT_WORDS.sub(" ", text.lower())))
    runs = {re.sub(r"[\s-]", "", run) for run in _ID_RUN.findall(cleaned)}
    fours = {run for run in runs if len(run) == 4}
    if len(fours) != 1:
        return None
    run = fours.pop()
    return run.upper() if _LAST4.fullmatch(run) else None


_DIGIT_WORD = re.compile(r"\b(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                         r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
                         r"seventy|eighty|ninety|hundred|\d+x?)\b", re.IGNORECASE)


def mask_id_last4(text: str) -> str:
    """The text with every number in it starred ('it's four four one seven' → 'it's **** **** *** *****') when
    it gives an ID's last four at all; otherwise unchanged. Starring every number word keeps no digit of the ID,
    whichever words named it ('forty four seventeen')."""
    if parse_id_last4(text) is None:
        return text
    return _DIGIT_WORD.sub(lambda word: "*" * len(word.group()), text)
