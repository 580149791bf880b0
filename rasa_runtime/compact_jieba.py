"""jieba's word frequencies in a MARISA trie instead of its Python dict: the same words, frequencies and so the same
tokens, in about a fifth of the memory.

jieba keeps its 349,045-word dictionary as a dict of every word and every prefix of a word (498,113 str → int
entries): 94 MiB of a Rasa replica's memory. The trie holds the words and their frequencies once and answers the
questions jieba asks of that dict (is this a word or the start of one, and how frequent is it) from the same entries;
words added later (the project's user dictionary, `jieba.add_word`) go into a small dict beside it, as jieba adds
them. The dictionary is read when Rasa starts, before the JiebaTokenizer loads the user dictionary.

Installed by scripts/run_rasa.py before Rasa starts.
"""
from __future__ import annotations

from array import array
from typing import Iterator, Optional

import jieba
import marisa_trie

from rasa_runtime import freed_memory

_MISSING = object()


class TrieFrequencies:
    """The mapping jieba's Tokenizer.FREQ is used as: word or word prefix -> frequency (0 for a prefix that is no
    word), backed by a trie of the dictionary's words, their frequencies by key id, and a dict of the words added
    since."""

    def __init__(self, words: marisa_trie.Trie, frequencies: array) -> None:
        self._words, self._frequencies = words, frequencies
        self._added: dict[str, int] = {}

    def get(self, key: str, default: Optional[int] = None) -> Optional[int]:
        if key in self._added:
            return self._added[key]
        key_id = self._words.get(key)
        if key_id is not None:
            return self._frequencies[key_id]
        return 0 if key and self._words.has_keys_with_prefix(key) else default

    def __contains__(self, key: str) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __getitem__(self, key: str) -> int:
        frequency = self.get(key, _MISSING)
        if frequency is _MISSING:
            raise KeyError(key)
        return frequency

    def __setitem__(self, key: str, frequency: int) -> None:
        self._added[key] = frequency


def _dictionary_entries(tokenizer: jieba.Tokenizer) -> Iterator[tuple[str, int]]:
    with tokenizer.get_dict_file() as lines:  # the format jieba.Tokenizer.gen_pfdict reads: "word freq [tag]"
        for number, line in enumerate(lines, 1):
            fields = line.strip().decode("utf-8").split(" ")
            try:
                yield fields[0], int(fields[1])
            except (IndexError, ValueError):
                raise ValueError(f"invalid dictionary entry in {tokenizer.dictionary} at line {number}: {line!r}")


def compact(tokenizer: jieba.Tokenizer) -> None:
    """Loads the tokenizer's dictionary into a trie, as its initialize() would into a dict. The file is read twice
    (words, then frequencies) so that no Python object per word outlives its line: a dict built first and dropped
    left tens of MiB of freed but unreturned memory behind."""
    with tokenizer.lock:
        words = marisa_trie.Trie(word for word, _ in _dictionary_entries(tokenizer))
        frequencies, total = array("q", bytes(8 * len(words))), 0
        for word, frequency in _dictionary_entries(tokenizer):
            frequencies[words[word]] = frequency  # a word listed twice keeps its last frequency and counts twice, as in jieba
            total += frequency
        tokenizer.FREQ, tokenizer.total = TrieFrequencies(words, frequencies), total
        tokenizer.initialized = True
    freed_memory.return_to_system()  # the trie's builder frees about 18 MiB


def install() -> None:
    compact(jieba.dt)
