"""Which language a borrower's message is written in, for the conversation's reply language."""
from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# Latin words Chinese speakers drop into Chinese chat: alone they say nothing about the language.
_LOANWORDS = frozenset({"ok", "okay", "hi", "hello", "bye", "yes", "no", "app", "id", "sorry", "thanks", "thx"})


def written_language(text: str) -> str | None:
    """'zh' for text with Chinese characters, 'en' for English words without any, None when the text does not
    tell (digits, '嗯', 'ok', an emoji): the conversation then keeps the language it had."""
    han = len(_HAN.findall(text))
    if han >= 1:
        return "zh"
    words = [word.lower() for word in _LATIN_WORD.findall(text)]
    if len(words) >= 2 or (len(words) == 1 and len(words[0]) > 2 and words[0] not in _LOANWORDS):
        return "en"
    return None
