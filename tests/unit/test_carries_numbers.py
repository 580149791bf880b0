"""Which transcripts the ASR engine decodes again with its careful window: the ID answer (by default), or any with
numbers the dialogue or the ledger acts on (COLLECTIONS_VOICE_ASR_CAREFUL_REDECODE=numbers); short-window results
as Whisper base gives them on the fixtures."""
from __future__ import annotations

import pytest

from voice.heard_values import carries_id_answer, carries_numbers


@pytest.mark.parametrize(("text", "numeric"), [
    ("我身份证后四位是381。", True),  # d03 with a digit dropped
    ("我身份证后四位是3821", True),  # the ID answer itself: a wrong digit costs a verification attempt
    ("我身份证后四位是", True),  # the ID answer's words, its digits not heard at all
    ("3821", True), ("我这中五线还2000块钱。", True), ("能不能帮我分6-7款?", True),
    ("我下个月15号发工资,到时候一次性还清。", True), ("好的,没问题,我明天就还", True), ("那就这周五吧", True),
    ("I can pay 300 dollars on Friday.", True), ("Tomorrow.", True), ("The last four digits are", True),
    # No number: a lone 一 is 一点, 一下, 一次性; words about the past or a question about the amount.
    ("对,我就是张伟本人", False), ("罚息能不能却连一点。", False), ("我上个月就已经还过了,你们查一下。", False),
    ("我家里人住晏冷,这个月真的还不上一。", False), ("到底还欠多少钱?", False), ("Yes, speaking.", False),
    ("May I speak to a person?", False), ("", False),
])
def test_what_carries_numbers(text, numeric):
    assert carries_numbers(text) is numeric


@pytest.mark.parametrize(("text", "id_answer"), [
    ("我身份证后四位是381。", True), ("我身份证后四位是", True), ("尾号是3821", True), ("The last four digits are", True),
    ("my ID ends in 4417", True),
    ("我这中五线还2000块钱。", False), ("3821", False), ("I can pay 300 dollars on Friday.", False), ("", False),
])
def test_what_gives_the_id_answer(text, id_answer):
    assert carries_id_answer(text) is id_answer
