"""Evasion-resistant views of an utterance: one job — turn raw text into clauses the rules can read.

Every clause is seen three ways:

* ``compact`` – simplified script, lower case, half-width, with whitespace and decorative symbols
  removed ("打 死 你", "打*死*你", "打.死.你" → "打死你"); Chinese terms and patterns match here.
* ``spaced``  – the same, but words kept apart by single spaces; English terms match here on word
  boundaries (so "sb" never matches inside "itsbeen").
* ``pinyin``  – "|"-separated toneless syllables of ``compact`` ("|sha|bi|"); Latin runs stay whole.
  Homophone keys match here on syllable boundaries, so "沙比" and "煞笔" read as "傻逼".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from chinese_text import to_simplified

# The rules and the classifier both read the Simplified text of the same utterance; converting
# costs more than all the rules, so the egress pays for it once.
simplified = lru_cache(maxsize=1024)(to_simplified)

# Clause boundaries after NFKC (full-width "，！？；：" become ASCII). A comma between digits is a
# thousands separator, and "." only ends an English sentence when followed by a space or the end.
# The enumeration comma "、" joins items of one clause ("不会在朋友圈、微信群曝光"), so a negation
# before the list still covers its last item.
_CLAUSE_SPLIT = re.compile(r"[。!?;\n]+|(?<!\d)[,:]|[,:](?!\d)|\.(?=\s|$)")
# Word characters are letters/digits of any script; everything else is a separator or symbol.
_CHUNK = re.compile(r"[^\W_]+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # keeps "won't", "you'll" whole in the spaced view
_SPACE_OR_SYMBOL = re.compile(r"[\W_]+")
# Runs of three or more single characters separated by up to three symbols: "打 死 你", "k.i.l.l".
_SPACED_OUT = re.compile(r"(?<![^\W_])[^\W_](?:[\W_]{1,3}[^\W_](?![^\W_])){2,}")
_DIGIT_GROUP = re.compile(r"(?<=\d)[,.](?=\d)")
_CJK = re.compile(r"[\u3400-\u9fff]")
# One Chinese character, or a run of anything else (kept whole, as pypinyin returns it).
_CJK_OR_RUN = re.compile(r"[\u3400-\u9fff]|[^\u3400-\u9fff]+")


@lru_cache(maxsize=None)
def _syllable(char: str) -> str:
    """The toneless default reading of one Chinese character. Per character, not per phrase:
    pypinyin's phrase segmentation cost a tenth of a millisecond per clause (most of the filter's
    time), and on the corpus, supplement, dev set and 6,000 COLD comments (32,621 clauses) the
    rules' pinyin keys hit exactly the same clauses either way."""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(char)[0]


def normalise(text: str) -> str:
    """The compact view of the whole text (clause punctuation kept): what a human reviewer would
    see once the evasion tricks are undone."""
    base = _base(text)
    return "".join(
        _SPACE_OR_SYMBOL.sub("", part) if not _CLAUSE_SPLIT.fullmatch(part) else part
        for part in _split_keep(base)
    )


def _base(text: str) -> str:
    """Simplified, NFKC (full-width → half-width), lower case, spaced-out runs joined."""
    text = simplified(text).lower().replace("\u2019", "'")
    return _SPACED_OUT.sub(lambda m: _SPACE_OR_SYMBOL.sub("", m.group(0)), text)


def _split_keep(text: str) -> list[str]:
    parts, last = [], 0
    for m in _CLAUSE_SPLIT.finditer(text):
        parts.append(text[last:m.start()])
        parts.append(m.group(0))
        last = m.end()
    parts.append(text[last:])
    return parts


@dataclass(frozen=True)
class Clause:
    """One clause of an utterance; ``index`` is its position in the utterance."""
    index: int
    raw: str

    @cached_property
    def compact(self) -> str:
        return _SPACE_OR_SYMBOL.sub("", _DIGIT_GROUP.sub("", self.raw))

    @cached_property
    def spaced(self) -> str:
        return spaced(self.raw)

    @cached_property
    def has_cjk(self) -> bool:
        return bool(_CJK.search(self.compact))

    @cached_property
    def pinyin_items(self) -> tuple[tuple[str, int], ...]:
        """(syllable or Latin run, start offset in ``compact``) pairs."""
        return tuple(
            (_syllable(m.group()) if _CJK.match(m.group()) else m.group(), m.start())
            for m in _CJK_OR_RUN.finditer(self.compact)
        )

    @cached_property
    def pinyin(self) -> str:
        return "|" + "|".join(item for item, _ in self.pinyin_items) + "|"

    def pinyin_offset(self, view_position: int) -> int:
        """Offset in ``compact`` of the syllable that starts at ``view_position`` of ``pinyin``."""
        index = self.pinyin.count("|", 0, view_position + 1) - 1
        items = self.pinyin_items
        return items[min(max(index, 0), len(items) - 1)][1] if items else 0


_SENTENCE_END = re.compile(r"[。!?;\n]+|\.(?=\s|$)")


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` after normalisation (the clause boundaries that end a sentence)."""
    return [s for s in _SENTENCE_END.split(_base(text)) if _CHUNK.search(s)]


def clauses(text: str) -> list[Clause]:
    """The clauses of ``text`` after normalisation, empty ones dropped."""
    base = _base(text)
    pieces = [p for p in _CLAUSE_SPLIT.split(base)]
    return [Clause(i, p) for i, p in enumerate(x for x in pieces if _CHUNK.search(x))]


def compact(text: str) -> str:
    """The compact view of a whole text with no clause punctuation (for echo comparison)."""
    return _SPACE_OR_SYMBOL.sub("", _DIGIT_GROUP.sub("", _base(text)))


# Latin letters run straight into Chinese ('call your employer您在…') still end an English word.
_LATIN_CJK_EDGE = re.compile(r"(?<=[a-z])(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff])(?=[a-z])")


def spaced(text: str) -> str:
    """Words (apostrophes kept inside them) joined by single spaces."""
    return " ".join(_WORD.findall(_LATIN_CJK_EDGE.sub(" ", text.lower().replace("\u2019", "'"))))
