"""Entity spans (dates, amounts, counts, ID digits) must start and end on jieba token edges."""

from __future__ import annotations

import pytest

from nlu.tokenization import USERDICT_PATH, load_jieba_userdict, tokenize


@pytest.mark.parametrize(
    ("sentence", "tokens"),
    [
        ("我下周五还两千块", ["我", "下周五", "还", "两千", "块"]),
        ("我这周五先还两千块钱", ["我", "这周五", "先", "还", "两千", "块钱"]),
        ("月底之前我还三千五百块", ["月底", "之前", "我", "还", "三千五百", "块"]),
        ("能不能帮我分六期还", ["能", "不能", "帮", "我", "分", "六期", "还"]),
        ("我身份证后四位是三八二一", ["我", "身份证", "后四位", "是", "三八二一"]),
        ("我下个月十五号发工资", ["我", "下个月", "十五号", "发工资"]),
        ("我15号还2000块", ["我", "15号", "还", "2000", "块"]),
        ("身份证后四位3821", ["身份证", "后四位", "3821"]),
        ("后天还两万", ["后天", "还", "两万"]),
        ("大后天能还三千五", ["大后天", "能", "还", "三千五"]),
        ("我明天还一千", ["我", "明天", "还", "一千"]),
        ("我周五还一千元", ["我", "周五", "还", "一千", "元"]),
        ("一万二分六个月还", ["一万二", "分", "六个月", "还"]),
        ("我想分三期", ["我想", "分", "三期"]),
    ],
)
def test_sentence_splits_on_entity_edges(sentence: str, tokens: list[str]) -> None:
    assert tokenize(sentence) == tokens


@pytest.mark.parametrize(
    ("sentence", "term"),
    [
        ("能不能减免罚息和滞纳金", "减免"),
        ("能不能减免罚息和滞纳金", "罚息"),
        ("能不能减免罚息和滞纳金", "滞纳金"),
        ("逾期了会影响征信吗", "逾期"),
        ("逾期了会影响征信吗", "征信"),
        ("我想一次性还清", "一次性"),
        ("我想一次性还清", "还清"),
        ("下个月底结清本金", "结清"),
        ("下个月底结清本金", "本金"),
        ("我要转人工", "转人工"),
    ],
)
def test_collections_terms_are_single_tokens(sentence: str, term: str) -> None:
    assert term in tokenize(sentence)


@pytest.mark.parametrize(
    ("sentence", "entity"),
    [
        ("我下周五还两千块", "下周五"),
        ("我下周五还两千块", "两千"),
        ("我这周五先还两千块钱", "这周五"),
        ("月底之前我还三千五百块", "月底"),
        ("我下个月十五号发工资", "十五号"),
        ("能不能帮我分六期还", "六期"),
        ("下下周五还八百", "八百"),
        ("我今天还五百块钱", "五百"),
    ],
)
def test_entity_span_starts_and_ends_on_token_edges(sentence: str, entity: str) -> None:
    start = sentence.index(entity)
    edges = {0}
    position = 0
    for token in tokenize(sentence):
        position += len(token)
        edges.add(position)
    assert start in edges and start + len(entity) in edges


def test_userdict_lines_are_word_freq_tag() -> None:
    for line in USERDICT_PATH.read_text(encoding="utf-8").splitlines():
        word, freq, tag = line.split(" ")
        assert word and freq.isdigit() and tag.isalpha()


def test_loading_the_userdict_twice_is_harmless() -> None:
    load_jieba_userdict()
    load_jieba_userdict()
    assert tokenize("我下周五还两千块") == ["我", "下周五", "还", "两千", "块"]
