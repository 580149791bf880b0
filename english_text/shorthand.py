"""Texting shorthand US borrowers type ("idk", "tmrw", "cant pay rn", "u guys"), spelled out as the words the NLU was
trained on, so a spelling no training line happened to use still reads as its word.

Expansions change the text's length; `shorthand_matches` gives each replacement's place so a caller holding character
offsets (entity spans in training data) can move them."""
from __future__ import annotations

import re
from typing import NamedTuple

# Whole words only (not the "U" of "U.S."), and only shorthand with no other reading in a borrower's message:
# "k" (1.5k), "2" / "4" (amounts), "y", "n" and "yr" (your / year) stay as written.
_SHORTHAND = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "pleez": "please", "thx": "thanks",
    "thnx": "thanks", "ty": "thank you", "idk": "i don't know", "dunno": "don't know", "rn": "right now",
    "tmr": "tomorrow", "tmrw": "tomorrow", "tmw": "tomorrow", "2moro": "tomorrow", "2morrow": "tomorrow",
    "2day": "today", "tonite": "tonight", "b4": "before", "bc": "because", "cuz": "because", "coz": "because",
    "bcuz": "because", "wanna": "want to", "gonna": "going to", "gotta": "got to", "lemme": "let me",
    "gimme": "give me", "imma": "i'm going to", "ppl": "people", "msg": "message", "pmt": "payment",
    "pymt": "payment", "amt": "amount", "acct": "account", "bal": "balance", "im": "i'm", "ive": "i've",
    "dont": "don't", "cant": "can't", "didnt": "didn't", "doesnt": "doesn't", "isnt": "isn't", "wasnt": "wasn't",
    "havent": "haven't", "wont": "won't", "thru": "through", "tho": "though", "wat": "what", "wut": "what",
    "whats": "what's", "fs": "for sure", "ofc": "of course", "nvm": "never mind", "kk": "ok", "rly": "really",
    "sry": "sorry", "srry": "sorry", "abt": "about", "smth": "something", "sth": "something", "wk": "week",
    "wks": "weeks", "mos": "months", "hrs": "hours", "mins": "minutes", "w/": "with", "w/o": "without",
}
_WORD = re.compile(
    r"(?<![\w/'])(" + "|".join(sorted(map(re.escape, _SHORTHAND), key=len, reverse=True)) + r")(?![\w/']|\.\w)",
    re.IGNORECASE,
)


class Expansion(NamedTuple):
    start: int
    end: int
    words: str


def shorthand_matches(text: str) -> list[Expansion]:
    return [Expansion(match.start(), match.end(), _SHORTHAND[match.group(0).lower()]) for match in _WORD.finditer(text)]


def spelled_out(text: str, expansions: list[Expansion] | None = None) -> str:
    expansions = shorthand_matches(text) if expansions is None else expansions
    pieces, position = [], 0
    for expansion in expansions:
        pieces += [text[position:expansion.start], expansion.words]
        position = expansion.end
    return "".join(pieces) + text[position:]


def moved_offset(offset: int, expansions: list[Expansion]) -> int:
    """Where a character offset of the original text lands in the spelled-out one (offsets never inside a match)."""
    return offset + sum(len(e.words) - (e.end - e.start) for e in expansions if e.end <= offset)
