"""Slang spellings reach the NLU as the standard words it was trained on (same length), and English shorthand as
whole words, with training entity spans moved along."""
from __future__ import annotations

import pytest

from chinese_text.slang import to_standard_words
from english_text.shorthand import moved_offset, shorthand_matches, spelled_out


@pytest.mark.parametrize("typed, read", [
    ("阔以阔以，就这么办", "可以可以，就这么办"),
    ("我现在木有钱", "我现在没有钱"),
    ("木问题，明天还", "没问题，明天还"),
    ("这个月肿么办啊", "这个月怎么办啊"),
    ("我不造你说的啥", "我不知你说的啥"),
    ("好滴，那就分12期", "好的，那就分12期"),
    ("分三期好伐？", "分三期好吗？"),
    ("俺们家最近困难", "我们家最近困难"),
    ("有木有别的办法", "有没有别的办法"),
])
def test_slang_becomes_standard_words(typed, read):
    assert to_standard_words(typed) == read
    assert len(to_standard_words(typed)) == len(typed)


@pytest.mark.parametrize("text", [
    "木头家具卖了还钱", "不造成您的困扰", "产品简介个人信息", "我要伐木", "您的额度还有三千", "香港的朋友",
])
def test_ordinary_words_are_left_alone(text):
    assert to_standard_words(text) == text


@pytest.mark.parametrize("typed, read", [
    ("idk when i can pay", "i don't know when i can pay"),
    ("cant pay rn, maybe tmrw", "can't pay right now, maybe tomorrow"),
    ("u guys call 2 much", "you guys call 2 much"),
    ("Thx. I'll pay 1.5k fs", "thanks. I'll pay 1.5k for sure"),
    ("pay w/ my card", "pay with my card"),
])
def test_shorthand_is_spelled_out(typed, read):
    assert spelled_out(typed) == read


@pytest.mark.parametrize("text", ["I live in the U.S. now", "I'm broke", "your balance", "4 payments of 300"])
def test_written_words_are_left_alone(text):
    assert spelled_out(text) == text


def test_offsets_after_an_expansion_move_with_it():
    text = "idk, maybe 300 tmrw"
    expansions = shorthand_matches(text)
    written = spelled_out(text, expansions)
    start, end = text.index("300"), text.index("300") + 3
    assert written[moved_offset(start, expansions):moved_offset(end, expansions)] == "300"
