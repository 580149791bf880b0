"""Whether a message has any word the assistant was taught. A line made only of words it never saw ("阿巴阿巴阿巴",
"asdfghjkl", "balabala") still gets a confident intent from a character n-gram classifier; acting on that guess once
recorded a promise to pay in full from babble. Such a line is 'not understood' and the question is asked again.

A common Chinese word missing from the training data ("确认") still counts as a word: jieba's dictionary frequency
tells a word people write from a syllable string ("阿巴" is in the dictionary too, but rarely)."""
from __future__ import annotations

import re
from typing import Iterable

_CONTENT = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")
# jieba dictionary counts: 确认 1568, 收到 1823, 嘿嘿 965; 阿巴 49, 巴拉 83, 呜呜 28.
COMMON_WORD_MIN_COUNT = 100


def content_words(tokens: Iterable[str]) -> list[str]:
    """Lower-cased tokens that carry a letter, a digit or a Han character (punctuation and spaces dropped)."""
    return [token.lower() for token in tokens if _CONTENT.search(token)]


def is_common_chinese_word(word: str) -> bool:
    """A word of two or more characters that jieba's dictionary counts often ('确认'). Single characters are not
    judged by it: interjections and syllables of babble ('呜', '啦') are all common as characters."""
    if len(word) < 2:
        return False
    import jieba

    jieba.dt.check_initialized()  # loads the dictionary once (inside Rasa the tokenizer already has)
    return jieba.dt.FREQ.get(word, 0) >= COMMON_WORD_MIN_COUNT


def only_unknown_words(words: list[str], vocabulary: frozenset[str]) -> bool:
    """True when there are words and none is in `vocabulary`, a common Chinese word or a number. Punctuation alone
    ('？？？') is not judged."""
    return bool(words) and not any(word in vocabulary or word.isdigit() or is_common_chinese_word(word) for word in words)
