"""Distress and vulnerability detection in what the borrower says.

`detect_distress(text)` returns a `DistressSignal` for self-harm, severe illness, bereavement
or being threatened by someone, in Chinese (Simplified or Traditional) or English, else None.
The caller stops collection, flags the borrower (`Ledger.flag_borrower(..., "distress", ...)`)
and hands off to a human at once; the contact policy refuses contact while the flag is active.

Errs on the side of safety for self-harm: any explicit mention triggers ("我不想死" included).
Figurative speech ("笑死我了", "累死了", "this is killing me") is removed before matching, and
a negation just before an illness/bereavement/threat phrase ("没有住院") cancels it.
The lexicon lives in distress.yml next to this file; it is read on first use, not at import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from configuration.files import load_yaml_model
from pydantic import BaseModel, ConfigDict, field_validator

from compliance_filters.patterns import require_valid_regexes
from english_text.shorthand import spelled_out

DistressKind = Literal["self_harm", "severe_illness", "bereavement", "threatened"]
KINDS: tuple[str, ...] = ("self_harm", "severe_illness", "bereavement", "threatened")
LEXICON_PATH = Path(__file__).with_name("distress.yml")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class DistressSignal:
    kind: DistressKind
    matched: str
    language: Literal["zh", "en"]


class _Languages(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: list[str] = []
    en: list[str] = []

    @field_validator("zh", "en")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        require_valid_regexes(patterns)
        return patterns


class _Negation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str


class _LexiconFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: list[DistressKind]
    figurative: _Languages
    negation: _Negation
    kinds: dict[DistressKind, _Languages]


@dataclass(frozen=True)
class Lexicon:
    order: tuple[str, ...]
    figurative: dict[str, re.Pattern[str]]
    negation: dict[str, re.Pattern[str]]
    kinds: dict[str, dict[str, tuple[re.Pattern[str], ...]]]


def _alternation(patterns: list[str], flags: int) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!x)x", flags)


def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    """Read and validate the lexicon; a bad file raises ConfigFileError naming the file and the key."""
    parsed = load_yaml_model(path, _LexiconFile)
    flags = {"zh": re.IGNORECASE, "en": re.IGNORECASE}
    return Lexicon(
        order=tuple(parsed.order),
        figurative={lang: _alternation(getattr(parsed.figurative, lang), flags[lang]) for lang in flags},
        negation={lang: re.compile(getattr(parsed.negation, lang), flags[lang]) for lang in flags},
        kinds={
            kind: {lang: tuple(re.compile(p, flags[lang]) for p in getattr(langs, lang)) for lang in flags}
            for kind, langs in parsed.kinds.items()
        },
    )


@lru_cache(maxsize=1)
def shipped_lexicon() -> Lexicon:
    return load_lexicon()


def _standard_chinese(text: str) -> str:
    from chinese_text import standard_chinese  # lazy: opencc loads a dictionary

    return standard_chinese(text)


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    # Same length, so offsets stay meaningful; a blank breaks phrases across the removed span.
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _negated(before: str, negation: re.Pattern[str]) -> bool:
    # Only look back within the clause the match is in.
    clause = re.split(r"[，,。.!！?？;；、]", before)[-1]
    return bool(negation.search(clause))


def detect_distress(text: str, lexicon: Lexicon | None = None) -> DistressSignal | None:
    """The most serious distress signal in `text`, or None."""
    if not text or not text.strip():
        return None
    lex = lexicon or shipped_lexicon()
    prepared = {
        # Read as the NLU reads it: "活着木有意思", "i wanna die" and "dont wanna live" are the phrases they spell.
        "zh": _blank(_standard_chinese(text), lex.figurative["zh"]),
        "en": _blank(spelled_out(" ".join(text.split()).replace("’", "'")), lex.figurative["en"]),
    }
    # Shared tokens (ICU) are reported in the message's own language.
    languages = ("zh", "en") if _CJK.search(prepared["zh"]) else ("en", "zh")
    for kind in lex.order:
        for lang in languages:
            haystack = prepared[lang]
            for pattern in lex.kinds.get(kind, {}).get(lang, ()):
                for match in pattern.finditer(haystack):
                    if kind != "self_harm" and _negated(haystack[: match.start()], lex.negation[lang]):
                        continue
                    return DistressSignal(kind=kind, matched=match.group(0), language=lang)  # type: ignore[arg-type]
    return None
