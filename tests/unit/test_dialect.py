"""Cantonese words reach the NLU as the Mandarin words it was trained on, with offsets unchanged."""
from __future__ import annotations

import pytest

from chinese_text import to_mandarin


@pytest.mark.parametrize("said, read", [
    ("系我", "是我"),
    ("唔好再打俾我啦", "不要再打给我啦"),
    ("我琴日已经还咗啦", "我昨天已经还了啦"),
    ("而家好忙，听日再打嚟啦", "现在好忙，明天再打来啦"),
    ("你讲咩啊，我冇听清", "你讲啥啊，我没听清"),
    ("唔系啊，你打错咗", "不是啊，你打错了"),
])
def test_cantonese_words_become_mandarin_ones(said, read):
    assert to_mandarin(said) == read


@pytest.mark.parametrize("text", ["别联系我", "我们没关系啊", "请问您是本人吗", "明天还两千"])
def test_mandarin_is_left_alone(text):
    assert to_mandarin(text) == text


def test_lengths_never_change():
    text = "系我啊，而家唔得，后日先还，唔该"
    assert len(to_mandarin(text)) == len(text)
