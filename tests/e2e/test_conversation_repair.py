"""Off-path turns do not ruin a conversation: the bot answers briefly, asks its question again, and the next valid
answer works. The borrower lines here are not in the training data (most come from the held-out NLU set)."""
from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.chat import discloses_debt

pytestmark = pytest.mark.e2e

NAME_QUESTION = "本人"
ID_QUESTION = "后四位"


@pytest.mark.parametrize("off_path", [
    "你好，你哪位呀",           # greeting / who is calling
    "喂？还在不在啊",           # can you hear me
    "你刚才问的啥",             # what did you say
    "等我关个门",               # hold on
    "今天天气怎么样",           # chit-chat
])
def test_an_off_path_answer_to_the_name_question_is_answered_and_the_question_asked_again(
        open_chat, borrowers, off_path):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    repaired = chat.say(off_path)
    assert NAME_QUESTION in repaired and not chat.ended, repaired
    assert ID_QUESTION in chat.say("嗯，是我")
    assert "核实通过" in chat.say(f"尾号{borrower.id_last4}")
    assert not any(discloses_debt(text) for text in chat.heard[:-1])


@pytest.mark.parametrize("off_path", ["你讲咩啊，我冇听清", "等下，我翻翻钱包找身份证", "电话那头有人没得"])
def test_an_off_path_answer_to_the_id_question_keeps_the_question_open(open_chat, borrowers, off_path):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("对，我就是本人")
    repaired = chat.say(off_path)
    assert ID_QUESTION in repaired and not chat.ended, repaired
    assert "核实通过" in chat.say(f"身份证后四位是{borrower.id_last4}")


def test_the_name_and_the_id_digits_in_one_turn_verify_at_once(open_chat, borrowers):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    assert "核实通过" in chat.say(f"我是本人，身份证尾号{borrower.id_last4}")


def test_id_digits_said_with_not_me_are_never_checked(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    reply = chat.say(f"不是我，我是他老婆，他身份证后四位是{borrower.id_last4}")
    assert chat.ended and "核实通过" not in reply
    assert ledger.verified_check(chat.conversation_id, borrower.borrower_id) is None


def test_five_digits_for_the_last_four_says_what_was_wrong(open_chat, borrowers):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("是我")
    reply = chat.say(f"后四位是0{borrower.id_last4}")
    assert "不是四位" in reply and ID_QUESTION in reply and not chat.ended, reply
    assert "核实通过" in chat.say(borrower.id_last4)


def test_venting_before_verification_is_asked_about_not_taken_as_a_stop_request(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    asked = chat.say("一天到晚打打打，你们不累吗")
    assert "不再联系" in asked and not chat.ended, asked
    resumed = chat.say("不是不是，你说吧")
    assert NAME_QUESTION in resumed and not chat.ended, resumed
    chat.say("是我")
    assert "核实通过" in chat.say(borrower.id_last4)
    assert ledger.review_requests(conversation_id=chat.conversation_id) == ()
    assert not ledger.is_do_not_contact(borrower.borrower_id)


def test_venting_then_yes_from_a_verified_borrower_stops_contact(verified_chat, ledger):
    chat, borrower, _ = verified_chat()
    assert "不再联系" in chat.say("怎么又打电话来了，烦死人")
    assert not ledger.is_do_not_contact(borrower.borrower_id)
    reply = chat.say("对")
    assert chat.ended and "停止" in reply
    assert ledger.is_do_not_contact(borrower.borrower_id)


def test_misunderstandings_are_counted_in_a_row_not_over_the_conversation(verified_chat, ledger):
    chat, _, _ = verified_chat()
    assert "没有听明白" in chat.say("推荐个好看的电视剧")
    assert "没有听明白" in chat.say("你喜欢吃火锅吗")
    chat.say("我现在欠多少钱")
    assert "没有听明白" in chat.say("明天会下雨吗")
    assert ledger.handoffs_for(chat.conversation_id) == ()


def test_waiting_inside_the_promise_questions_keeps_the_promise_going(verified_chat, ledger):
    chat, _, account = verified_chat(min_balance_cents=100_000)
    chat.say("我明天还")
    held = chat.say("等我两分钟，马上回来")
    assert "不着急" in held and "多少" in held, held
    recorded = chat.say("500块")
    assert "已为您记录" in recorded, recorded
    promises = [p for p in ledger.promises_for(account.account_id) if p.conversation_id == chat.conversation_id]
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(50_000, date(2026, 11, 24))]


@pytest.mark.parametrize("babble", ["阿巴阿巴阿巴", "asdfghjkl", "balabala 阿巴阿巴"])
def test_babble_is_not_understood_records_nothing_and_the_next_answer_works(verified_chat, ledger, babble):
    chat, borrower, account = verified_chat(min_balance_cents=300_000)
    reply = chat.say(babble)
    assert "没有听明白" in reply and not chat.ended, reply
    assert [p for p in ledger.promises_for(account.account_id) if p.conversation_id == chat.conversation_id] == []
    assert not ledger.is_do_not_contact(borrower.borrower_id)
    chat.say("我这周五先还两千块")
    promises = [p for p in ledger.promises_for(account.account_id) if p.conversation_id == chat.conversation_id]
    assert [p.amount_cents for p in promises] == [200_000]


def test_babble_before_verification_asks_the_question_again(open_chat, borrowers):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    repaired = chat.say("阿巴阿巴阿巴")
    assert NAME_QUESTION in repaired and not chat.ended, repaired
    chat.say("是我")
    assert "核实通过" in chat.say(borrower.id_last4)


def test_keyboard_mash_in_english_is_not_taken_as_abuse(open_chat, borrowers):
    borrower, _ = borrowers.take(language="en")
    chat = open_chat(borrower.borrower_id)
    chat.say("yes this is me")
    reply = chat.say("asdfjkl qwerty")
    assert "didn't understand" in reply and "last four" in reply and not chat.ended, reply
