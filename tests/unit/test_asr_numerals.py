"""What the NLU receives from ASR: Simplified script and numbers as digits, words with numerals untouched."""
from __future__ import annotations

import pytest

from voice.asr.numerals import normalise_transcript


@pytest.mark.parametrize(("heard", "expected"), [
    ("我身份证后四位是三八二一。", "我身份证后四位是3821。"),
    ("后四位幺三五七", "后四位1357"),
    ("尾号零零三九", "尾号0039"),
    ("我这周五先还两千块钱。", "我这周五先还2000块钱。"),
    ("月底之前我还三千五百块，行吗？", "月底之前我还3500块,行吗?"),
    ("下周三还两千五", "下周三还2500"),
    ("能不能帮我分六期还？", "能不能帮我分6期还?"),
    ("分十二期", "分12期"),
    ("分两期", "分2期"),
    ("分五个月还清", "分5个月还清"),
    ("我下个月十五号发工资", "我下个月15号发工资"),
    ("还 3,500 元", "还 3500 元"),
    ("我身份證後四位是三八二一，先還兩千塊", "我身份证后四位是3821,先还2000块"),
    ("我 要 转 人工", "我要转人工"),
    ("到时候一次性还清", "到时候一次性还清"),
    ("你们查一下", "你们查一下"),
    ("十分感谢", "十分感谢"),
    ("这笔钱不是我借的", "这笔钱不是我借的"),
    ("星期三还五百", "星期三还500"),
    ("这个月真的还不上", "这个月真的还不上"),
    ("我明天就还", "我明天就还"),
    # 周 misheard as a character sounding alike, before a weekday number (d06 on some calls): the week it names.
    ("我这中五线还2000块钱", "我这周五线还2000块钱"), ("下州三还两千五", "下周三还2500"), ("上钟日就还了", "上周日就还了"),
    ("这中间我还了五百", "这中间我还了500"), ("这种三期的方案", "这种3期的方案"), ("下中三年级", "下中3年级"),
    ("中五还", "中五还"),
])
def test_transcript_normalisation(heard: str, expected: str) -> None:
    assert normalise_transcript(heard) == expected


def test_normalised_numbers_parse_to_the_same_entity_values() -> None:
    from chinese_text import parse_amount_cents, parse_id_last4, parse_periods

    assert parse_id_last4(normalise_transcript("三八二一")) == parse_id_last4("三八二一") == "3821"
    assert parse_amount_cents(normalise_transcript("三千五百块")) == parse_amount_cents("三千五百块") == 350000
    assert parse_periods(normalise_transcript("六期")) == parse_periods("六期") == 6
