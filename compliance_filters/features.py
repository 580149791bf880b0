"""What the compliance classifier sees of an utterance — one job: text → feature strings.

Three kinds in one vocabulary:
* character 1–3-grams of the compact text, unprefixed (the compact text has no ":", so they never
  collide with the prefixed kinds, and skipping the prefix saves a string per n-gram) (script, case, spaces and symbols undone), which
  survive evasion such as "打 死 你" or Traditional script;
* ``w:`` English words and ``b:`` English word bigrams (Chinese words are already character
  n-grams; a Chinese word segmenter cost more than the whole latency budget); a word in the scope of
  a negation ("we will never *post* your *photo*") is ``w:~post`` instead, so the words of a promise
  not to act do not count as the words of a threat to act (threat_structure.english_scope);
* ``s:`` threat-structure roles and their pairs (threat_structure.py), which carry the shape of a
  threat — condition, harm, target, actor — or of a lawful line — negation, protective frame, fact.
"""
from __future__ import annotations

import re
from compliance_filters.normalise import simplified
from compliance_filters.threat_structure import english_scope, structure_features

CHAR_NGRAM_RANGE = (1, 3)
# 3-4: two-letter pieces ("<e", "nd", "ra") carried weight of their own in the harm regression
# (a lawful line scored 0.84 on them), though they say nothing about a word; on the three
# development sets 3-4 blocked as many threats with fewer lawful lines.
LATIN_NGRAM_RANGE = (3, 4)
_LATIN_RUN = re.compile(r"[a-z']+")
# Stored with a trained model; a model whose features were computed differently is retrained.
FEATURE_VERSION = 5
_NON_WORD = re.compile(r"[\W_]+")
_ENGLISH_WORD = re.compile(r"[a-z][a-z']*")


def english_words(normalised: str) -> list[str]:
    """English words, each marked "~" while it lies after a negator in its clause."""
    return [f"~{word.group()}" if negated else word.group() for word, negated in english_scope(normalised)]


def model_text(text: str) -> str:
    """Simplified script, NFKC, lower case; spaces kept so English words stay apart."""
    return " ".join(simplified(text).lower().split())


def compact(text: str) -> str:
    """Every whitespace / symbol / underscore removed: '爆 你·通 訊 錄' and '爆你通讯录' are equal."""
    return _NON_WORD.sub("", model_text(text))


def char_ngrams(compacted: str, ngram_range: tuple[int, int] = CHAR_NGRAM_RANGE) -> list[str]:
    lo, hi = ngram_range
    return [compacted[i:i + n] for n in range(lo, hi + 1) for i in range(len(compacted) - n + 1)]


def word_ngrams(words: list[str], ngram_range: tuple[int, int] = LATIN_NGRAM_RANGE) -> list[str]:
    """Character n-grams inside each English word, its edges marked: "<ca", "all", "ll>"."""
    lo, hi = ngram_range
    grams = []
    for word in words:
        marked = f"<{word}>"
        grams += [marked[i:i + n] for n in range(lo, hi + 1) for i in range(len(marked) - n + 1)]
    return grams


def features(text: str) -> list[str]:
    normalised = model_text(text)
    compacted = _NON_WORD.sub("", normalised)
    tokens = _ENGLISH_WORD.findall(normalised)
    # Chinese (and digits) as before; an English n-gram across two words ("ndy" of "and you") says
    # nothing, so English is read word by word.
    non_latin = [run for run in _LATIN_RUN.split(compacted) if run]
    return (
        [gram for run in non_latin for gram in char_ngrams(run)]
        + word_ngrams(tokens)
        + [f"w:{w}" for w in english_words(normalised)]
        + [f"b:{a}_{b}" for a, b in zip(tokens, tokens[1:])]
        + structure_features(normalised)
    )
