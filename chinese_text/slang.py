"""Internet slang and phonetic spellings borrowers type in chat ("阔以", "木有", "肿么办", "好滴"), turned into the standard
word of the same length, so the NLU reads "木有钱" as "没有钱" whether or not its training lines had that spelling.
Same length, so entity offsets in the text still hold (as in `chinese_text.dialect`)."""
from __future__ import annotations

import re

# Only spellings that mean nothing else in a borrower's message; a character that has an ordinary meaning of its own
# (木, 造, 介, 伐) is replaced only in the context that makes it slang.
_WORDS = {
    "阔以": "可以", "木有": "没有", "么有": "没有", "米有": "没有", "妹有": "没有", "神马": "什么", "肿么": "怎么",
    "酱紫": "这样", "辣么": "那么", "灰常": "非常", "童鞋": "同学", "蓝瘦": "难受", "香菇": "想哭", "尊嘟": "真的",
    "腻害": "厉害", "银家": "人家", "伦家": "人家", "泥好": "你好", "好滴": "好的", "是滴": "是的", "对滴": "对的",
    "好哒": "好的", "是哒": "是的", "么子": "什么", "咋个": "怎么", "咋整": "咋办", "晓不得": "不知道",
    "不晓得": "不知道", "3Q": "谢谢", "3q": "谢谢", "俺": "我",
}
_IN_CONTEXT = (
    (re.compile(r"木(?=问题|钱|办法|空|时间|事儿?)"), "没"),          # 木问题, 木钱 (but 木头, 木材)
    (re.compile(r"不造(?![成假谣价型])"), "不知"),                    # 我不造 (but 不造成, 不造假)
    (re.compile(r"(?<![简中媒评])介个"), "这个"),                     # 介个 (but 简介个人)
    (re.compile(r"(?<=[好是对行要])伐(?=[?？。！!，,]|$)"), "吗"),   # 好伐？ (Shanghainese, sentence-final only)
)
_WORD = re.compile("|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)))


def to_standard_words(text: str) -> str:
    text = _WORD.sub(lambda match: _WORDS[match.group(0)], text)
    for pattern, standard in _IN_CONTEXT:
        text = pattern.sub(standard, text)
    return text
