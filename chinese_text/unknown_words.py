"""Whether a message has any word the assistant was taught. A line made only of words it never saw ("阿巴阿巴阿巴",
"asdfghjkl", "balabala") still gets a confident intent from a character n-gram classifier; acting on that guess once
recorded a promise to pay in full from babble. Such a line is 'not understood' and the question is asked again."""
from __future__ import annotations

import re
from typing import Iterable

_CONTENT = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")


def content_words(tokens: Iterable[str]) -> list[str]:
    """Lower-cased tokens that carry a letter, a digit or a Han character (punctuation and spaces dropped)."""
    return [token.lower() for token in tokens if _CONTENT.search(token)]


def only_unknown_words(words: list[str], vocabulary: frozenset[str]) -> bool:
    """True when there are words and none is in `vocabulary` or a number. Punctuation alone ('？？？') is not judged."""
    return bool(words) and not any(word in vocabulary or word.isdigit() for word in words)
