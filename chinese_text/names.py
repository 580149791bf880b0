"""A name the speaker gives for themselves ("是我，我是李娜", "this is Mike"), to compare with the name on file: a
stated name that is not the borrower's is a wrong party, never a yes to "is this X?"."""
from __future__ import annotations

import re

# The most common Chinese surnames (about 85% of people): a 我是/我叫 followed by one of these starts a name.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_CHINESE_NAME = re.compile(rf"(?:我是|我叫|我的名字是|本人是)([{_SURNAMES}][\u4e00-\u9fff]{{1,2}})")
_BARE_CHINESE_NAME = re.compile(rf"[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}")
# Words after 我是 that are not a name even when they start like one ("我是王总的家人" is handled by NLU as wrong party).
_NOT_A_NAME = ("本人", "他", "她")
_ENGLISH_NAME = re.compile(r"\b(?:this is|i'm|i am|my name is|it's|its|name's)\s+([a-z]+(?:\s+[a-z]+)?)", re.IGNORECASE)
_NOT_ENGLISH_NAMES = frozenset({
    "him", "her", "he", "she", "me", "it", "them", "the", "a", "an", "not", "no", "yes", "right", "correct", "speaking",
    "fine", "good", "ok", "okay", "busy", "driving", "working", "at", "here", "there", "his", "hers", "who", "what",
    "sure", "calling", "just", "really", "so", "very", "too", "not", "sorry", "listening", "back", "home", "out",
    "in", "on", "going", "gonna", "trying", "having", "looking", "about", "that", "this", "my", "your", "all",
})


def looks_like_chinese_name(text: str) -> bool:
    """A whole message that could be a bare name ('周宇航', '李娜'): a common surname and one or two Han characters."""
    return _BARE_CHINESE_NAME.fullmatch(text.strip(" 。，！？.,!?")) is not None


def stated_name(text: str) -> str | None:
    """The name the speaker calls themselves, or None: '是我，我是李娜' → '李娜', 'yes this is mike' → 'mike'."""
    chinese = _CHINESE_NAME.search(text)
    if chinese and not chinese.group(1).startswith(_NOT_A_NAME):
        return chinese.group(1)
    english = _ENGLISH_NAME.search(text)
    if english:
        words = [word for word in english.group(1).lower().split() if word not in _NOT_ENGLISH_NAMES]
        first = english.group(1).lower().split()[0]
        if first not in _NOT_ENGLISH_NAMES and words:
            return " ".join(words)
    return None


def names_someone_else(text: str, full_name: str) -> bool:
    """True when the speaker gives a name that is not `full_name` (the whole name, the given name or the surname
    alone all count as the borrower's)."""
    name = stated_name(text)
    if name is None:
        return False
    if re.search(r"[\u4e00-\u9fff]", name):
        return not (name in full_name or full_name in name or (len(name) >= 1 and name == full_name[1:]))
    on_file = set(full_name.lower().split())
    return not (set(name.split()) & on_file)
