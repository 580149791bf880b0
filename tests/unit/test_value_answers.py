"""Short answers the intent model reads poorly: days said in common forms it missed ('明天不行，这礼拜天吧'), and a
value with nothing but filler around it ('嗯，30号'), which answers the question asked."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chinese_text.date_entities import with_pattern_amounts, with_pattern_dates, without_ruled_out_dates
from chinese_text.amounts import amount_spans
from chinese_text.dates import date_spans, parse_date
from chinese_text.stop_requests import says_not_to_stop
from chinese_text.value_answers import is_bare_value_answer

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)  # a Wednesday in Shanghai


def entity(text: str, words: str, kind: str) -> dict:
    start = text.index(words)
    return {"entity": kind, "start": start, "end": start + len(words)}


def dates_in(entities: list[dict], text: str) -> list[str]:
    return [text[e["start"]:e["end"]] for e in entities if e["entity"] == "date"]


@pytest.mark.parametrize(("text", "said", "day"), [
    ("那就明儿个吧", "明儿个", date(2026, 12, 3)),
    ("后儿个还", "后儿个", date(2026, 12, 4)),
    ("这礼拜天我还五百", "这礼拜天", date(2026, 12, 6)),
    ("下礼拜三转给你", "下礼拜三", date(2026, 12, 9)),
    ("嗯，30号", "30号", date(2026, 12, 30)),
    ("下个月5号发了工资就还", "下个月5号", date(2027, 1, 5)),
    ("月底前还清", "月底", date(2026, 12, 31)),
])
def test_a_day_said_in_a_common_form_is_found_and_read(text, said, day):
    assert [text[start:end] for start, end in date_spans(text)] == [said]
    assert parse_date(said, NOW) == day


@pytest.mark.parametrize("text", ["分12期", "我欠了3000块", "身份证号后四位", "第三期还不上", "三天后再说"])
def test_text_without_a_plain_day_has_none(text):
    assert date_spans(text) == []


def test_a_day_diet_missed_is_added_and_the_ruled_out_one_then_dropped():
    text = "明天不行，这礼拜天吧"
    found = with_pattern_dates([entity(text, "明天", "date")], text)
    assert dates_in(found, text) == ["明天", "这礼拜天"]
    assert dates_in(without_ruled_out_dates(found, text), text) == ["这礼拜天"]


def test_a_day_diet_cut_short_is_widened_and_a_time_of_day_after_it_is_part_of_it():
    text = "这礼拜天下午转给你"
    found = with_pattern_dates([entity(text, "礼拜天", "date"), entity(text, "下午", "date")], text)
    assert dates_in(found, text) == ["这礼拜天"]


def test_a_date_diet_read_wider_than_the_pattern_stands():
    text = "我1月10号晚上8点还"
    wide = entity(text, "1月10号晚上8点", "date")
    assert with_pattern_dates([wide], text) == [wide]


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("嗯，30号", "30号", "date"), ("行就12期", "12期", "periods"), ("那就明儿个吧", "明儿个", "date"),
    ("好的，两千", "两千", "amount"), ("um, 500 then", "500", "amount"), ("ok 6 months", "6 months", "periods"),
])
def test_a_value_with_only_filler_is_a_bare_answer(text, value, kind):
    assert is_bare_value_answer(text, [entity(text, value, kind)])


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("明天还", "明天", "date"),            # a promise, said as one
    ("不对，30号", "30号", "date"),        # a correction
    ("30号行吗", "30号", "date"),          # a question
    ("i can pay 500", "500", "amount"),
    ("嗯，3000", "3000", "amount"),        # four bare digits may answer the ID question: the model decides
    ("/inform", "inform", "amount"),
])
def test_anything_more_is_not(text, value, kind):
    assert not is_bare_value_answer(text, [entity(text, value, kind)])


def test_no_value_no_bare_answer():
    assert not is_bare_value_answer("嗯嗯", [])
    assert not is_bare_value_answer("嗯，我叫李娜", [{"entity": "language", "start": 0, "end": 6}])


@pytest.mark.parametrize(("text", "diet_found", "expected"), [
    ("ok, I'll pay 1.5k the day after tomorrow", "tomorrow", "the day after tomorrow"),
    ("can i pay 200 on dec 4th?", None, "dec 4th"),
    ("ok I'll send a grand on Wednesday", "Wednesday", "Wednesday"),
])
def test_english_days_diet_missed_or_cut_short_are_found(text, diet_found, expected):
    entities = [entity(text, diet_found, "date")] if diet_found else []
    assert dates_in(with_pattern_dates(entities, text), text) == [expected]


def test_english_money_diet_missed_is_found_and_a_number_it_found_stands():
    text = "ok I'll send a grand on Wednesday"
    found = with_pattern_amounts([entity(text, "Wednesday", "date")], text)
    assert [text[e["start"]:e["end"]] for e in found if e["entity"] == "amount"] == ["a grand"]
    text = "i can do $300 next friday"
    wide = entity(text, "$300", "amount")
    assert with_pattern_amounts([wide], text) == [wide]


@pytest.mark.parametrize(("text", "money"), [
    ("啊全额不方便，下个月3号吧，先还伍佰", ["伍佰"]), ("我这周五先还两千块钱", ["两千块钱"]), ("转两千给你", ["两千"]),
    ("还三期", []), ("先还一部分", []), ("打了一万遍", []), ("后四位3821", []), ("还一下", []),
])
def test_chinese_money_said_plainly_is_found(text, money):
    assert [text[start:end] for start, end in amount_spans(text)] == money


def test_a_pattern_never_overrides_what_diet_read_as_something_else():
    text = "我还3821"
    digits = entity(text, "3821", "id_last4")
    assert with_pattern_amounts([digits], text) == [digits]


@pytest.mark.parametrize("text", ["nah its fine, dont stop. how do i pay", "no, you don't have to stop", "不用停，我就抱怨两句",
                                  "不是要你们停，少打点就好"])
def test_words_saying_not_to_stop_are_no_stop_request(text):
    assert says_not_to_stop(text)


@pytest.mark.parametrize("text", ["please stop calling me", "why don't you stop calling me", "stop it", "别再打了",
                                  "I told you to stop, don't call again"])
def test_a_stop_request_stays_one(text):
    assert not says_not_to_stop(text)
