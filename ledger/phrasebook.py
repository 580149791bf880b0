"""A catalogue of sentences by name, each in Chinese and English with the same {values}: what the actions say
(actions/replies.py) and what the gateway says outside a turn (ledger/notices.py). A sentence missing a language or
a value in one of them stops the import, not a borrower's turn."""
from __future__ import annotations

import string
from collections.abc import Iterator, Mapping

LANGUAGES = ("zh", "en")


def spoken_language(language: str | None) -> str:
    """'en' for English, Chinese for anything else (the default of every conversation)."""
    return "en" if language == "en" else "zh"


def _value_names(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Phrasebook(Mapping[str, Mapping[str, str]]):
    def __init__(self, phrases: dict[str, dict[str, str]]) -> None:
        for key, texts in phrases.items():
            if set(texts) != set(LANGUAGES):
                raise ValueError(f"phrase {key!r} has languages {sorted(texts)}, not {list(LANGUAGES)}")
            if _value_names(texts["zh"]) != _value_names(texts["en"]):
                raise ValueError(f"phrase {key!r} has different values in Chinese and English")
        self._phrases = phrases

    def say(self, language: str | None, key: str, **values: object) -> str:
        return self._phrases[key][spoken_language(language)].format(**values)

    def __getitem__(self, key: str) -> Mapping[str, str]:
        return self._phrases[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._phrases)

    def __len__(self) -> int:
        return len(self._phrases)
