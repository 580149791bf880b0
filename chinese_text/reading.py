"""Chinese as the NLU and distress detection read it: simplified script, Mandarin words for Cantonese ones, standard
spellings for slang."""
from __future__ import annotations

from chinese_text.dialect import to_mandarin
from chinese_text.script import to_simplified
from chinese_text.slang import to_standard_words


def standard_chinese(text: str) -> str:
    return to_standard_words(to_mandarin(to_simplified(text)))
