"""Common Cantonese (and a few south-western) words a borrower types or an ASR writes, turned into the Mandarin
word of the same length, so the NLU trained on Mandarin reads "唔好再打俾我" as "不要再打给我" and "听日" as "明天".
Same length, so entity offsets in the text still hold."""
from __future__ import annotations

import re

# Only replacements of equal length (see the module docstring); whole words where a character alone is ambiguous.
_WORDS = {
    "唔系": "不是", "唔好": "不要", "唔得": "不行", "唔该": "谢谢", "唔使": "不用", "唔识": "不会",
    "俾我": "给我", "打俾": "打给", "听日": "明天", "琴日": "昨天", "寻日": "昨天", "今日": "今天", "后日": "后天",
    "而家": "现在", "乜嘢": "什么", "边个": "哪个", "几时": "哪天", "点解": "为啥", "冇": "没", "咗": "了",
    "嚟": "来", "喺": "在", "嘅": "的", "佢": "他", "咩": "啥", "啥子": "什么", "莫得": "没有",
}
# 系 is "is" only before these and not inside 联系 / 关系 / 体系 / 维系.
_IS = re.compile(r"(?<![联关体维派])系(?=[我啊呀嘅的咪])")
_WORD = re.compile("|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)))


def to_mandarin(text: str) -> str:
    return _IS.sub("是", _WORD.sub(lambda match: _WORDS[match.group(0)], text))
