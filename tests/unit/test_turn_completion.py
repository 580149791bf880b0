"""What counts as a complete answer to the bot's question, for ending a turn before the whole end-of-turn silence."""
from __future__ import annotations

import pytest

from voice.turn_completion import Awaited, answers, awaited_answer

ID_QUESTION = "为了保护您的信息安全，请告诉我您身份证号码的后四位，或者您的出生日期。"


@pytest.mark.parametrize(("question", "awaited"), [
    (ID_QUESTION, Awaited.ID_DIGITS),
    ("To protect your information, please tell me the last four digits of your ID number, or your date of birth.",
     Awaited.ID_DIGITS),
    ("请问您是我们要联系的本人吗？如果不是，直接告诉我就好。", Awaited.YES_NO),
    ("您的欠款为3,600.00元。您今天方便全额还款吗？方便请按1，不方便请按2。", Awaited.YES_NO),
    ("跟您确认一下，您是说“2个月”吗？对的请说“是”或按1，不对请说“不是”或按2。", Awaited.YES_NO),
    ("Am I speaking with the person we're trying to reach? If not, just let me know.", Awaited.YES_NO),
    ("您打算哪天还款、还多少？", None),
    ("What day can you pay, and how much?", None),
    ("身份核实通过，谢谢您的配合。", None),
])
def test_what_the_question_waits_for(question, awaited):
    assert awaited_answer(question) is awaited


@pytest.mark.parametrize(("text", "complete"), [
    ("我身份证后四位是3821。", True), ("三八二一", True), ("3821", True), ("后四位是382X", True),
    ("我身份证后四位是381。", False), ("我身份证后四位是", False), ("我不记得了", False),
])
def test_the_four_id_digits_complete_the_answer_to_the_id_question(text, complete):
    assert answers(Awaited.ID_DIGITS, text) is complete


@pytest.mark.parametrize(("text", "complete"), [
    ("对，我就是张伟本人。", True), ("是的", True), ("嗯", True), ("不是", True), ("不对，我不是他。", True),
    ("Yes, speaking.", True), ("No.", True),
    # A sentence that only begins like an answer, or that carries a number (a new answer, perhaps a correction).
    ("是这样的", False), ("是因为我最近", False), ("是不是搞错了", False), ("不过我想问一下", False),
    ("对的，分两期", False), ("好的，没问题，我明天就还。", False), ("nothing", False),
    ("我现在手头有点紧。", False),
])
def test_a_clear_yes_or_no_completes_the_answer_to_a_yes_no_question(text, complete):
    assert answers(Awaited.YES_NO, text) is complete


def test_nothing_is_complete_when_the_question_waits_for_nothing_in_particular():
    assert not answers(None, "对，我就是张伟本人。") and not answers(None, "3821")

