"""A reply that is nothing but a value and filler words ('嗯，30号', '行就12期', '那就明儿个吧', 'um, 500 then')
gives that value: it answers the question asked, whatever an intent model trained on fuller sentences made of
it (a fallback, or 'goodbye' for '那就…吧'). Pure text rules, shared by the NLU component and its tests."""
from __future__ import annotations

import re
from typing import Any

from chinese_text.identity import bare_id_last4

VALUE_ENTITIES = frozenset({"date", "amount", "periods"})
# Longest first, so '好的' is not read as '好' leaving '的'.
_CHINESE_FILLERS = sorted((
    "好的", "可以", "那就", "就是", "那么", "行", "好", "嗯", "啊", "哦", "噢", "喔", "呃", "额", "那", "就", "吧",
    "呗", "呀", "啦", "了", "的", "是", "对", "嘛", "哈",
), key=len, reverse=True)
_ENGLISH_FILLERS = frozenset({
    "um", "uh", "er", "erm", "hmm", "ok", "okay", "well", "so", "maybe", "i", "guess", "just", "about", "around",
    "then", "yes", "yeah", "yep", "sure", "fine", "let's", "say",
})
_PUNCTUATION_OR_SPACE = re.compile(r"[\s,.!?~…，。！？、；;：:]+")
_ENGLISH_WORD = re.compile(r"[A-Za-z']+")


def _only_chinese_filler(rest: str) -> bool:
    while rest:
        filler = next((word for word in _CHINESE_FILLERS if rest.startswith(word)), None)
        if filler is None:
            return False
        rest = rest[len(filler):]
    return True


def _only_filler(rest: str) -> bool:
    words = _ENGLISH_WORD.findall(rest)
    if any(word.lower() not in _ENGLISH_FILLERS for word in words):
        return False
    return _only_chinese_filler(_PUNCTUATION_OR_SPACE.sub("", _ENGLISH_WORD.sub(" ", rest)))


def is_bare_value_answer(text: str, entities: list[dict[str, Any]]) -> bool:
    """True when `text` is one or more date, amount or instalment-count values and nothing but filler. Four bare
    digits are left to the model: they may answer the ID question."""
    values = [entity for entity in entities if entity.get("entity") in VALUE_ENTITIES and "start" in entity]
    if text.startswith("/") or not values:
        return False
    if any(bare_id_last4(text[entity["start"]:entity["end"]]) is not None for entity in values):
        return False
    rest = text
    for entity in sorted(values, key=lambda entity: entity["start"], reverse=True):
        rest = rest[:entity["start"]] + " " + rest[entity["end"]:]
    return _only_filler(rest)
