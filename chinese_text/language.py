"""Which language a borrower's message is written in, for the conversation's reply language."""
from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# Latin words Chinese speakers drop into Chinese chat: alone they say nothing about the language.
_LOANWORDS = frozenset({"ok", "okay", "hi", "hello", "bye", "yes", "no", "app", "id", "sorry", "thanks", "thx"})
# Common English words: a message is English only if it has one ('ksjdhfkjs' and pinyin are not English).
_ENGLISH_WORDS = frozenset("""
a about after again all already am an and any are as at back be because been bill but by call calling calls can
cant can't could day days did didn't do does don't dont done for from get give go going gonna got had has have he
her here hey him his how i i'm im if in is it it's its just know last let like look me money month more my need
never next no not now of off ok okay on one or our out paid pay payment payments people please pls plz real right
say see send she so some sorry speaking stop sure talk tell thank thanks that that's the them then there they
think this time to today tomorrow too u up ur us want was way we week well what when where who why will with
wont won't would wrong yeah yep yes yet you your yours
""".split())


def written_language(text: str) -> str | None:
    """'zh' for text with Chinese characters, 'en' for English words without any, None when the text does not
    tell (digits, '嗯', 'ok', an emoji): the conversation then keeps the language it had."""
    han = len(_HAN.findall(text))
    if han >= 1:
        return "zh"
    words = [word.lower() for word in _LATIN_WORD.findall(text)]
    english = [word for word in words if word in _ENGLISH_WORDS and word not in _LOANWORDS]
    if english and (len(words) >= 2 or len(words[0]) > 2):
        return "en"
    return None
