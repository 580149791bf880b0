"""Whether the caller has already answered what the bot asked: the words an early decode heard during a pause are
a complete answer (the four ID digits after the ID question, a clear yes or no to a yes/no question), so the turn
can end without waiting out the rest of the end-of-turn silence. Anything else waits the whole silence, since the
caller may only be pausing inside a sentence ("我现在手头有点紧，" … "能不能晚几天再还？")."""
from __future__ import annotations

import re
from enum import Enum

from chinese_text.identity import parse_id_last4
from chinese_text.script import to_simplified
from voice.heard_values import confirmation_answer


class Awaited(Enum):
    ID_DIGITS = "id_digits"  # the last four characters of the ID card
    YES_NO = "yes_no"


_ASKS_ID = re.compile(r"后四位|last (?:four|4) digits", re.IGNORECASE)
# A question answered by yes or no: "…本人吗？", keys for yes and no ("方便请按1，不方便请按2。"), the read-back's
# "对的请说“是”或按1", or an English question opening with an auxiliary verb.
_ASKS_YES_NO = re.compile(
    r"吗[？?]|按1|press 1|(?:^|[.!?]\s+)(?:am|is|are|do|does|did|can|could|will|would|have|has)\b[^.!?]*\?",
    re.IGNORECASE)
# A yes or no said first and plainly. "是这样的…", "是因为…" and "是不是…" begin longer sentences, not answers.
_CLEAR_YES_NO = re.compile(
    r"^(?:对|是(?![这因不])|嗯|好的|好|可以|行|没错|没问题|不是|不对|不行|不用|不要|不方便|不同意|没有|"
    r"(?:yes|yeah|yep|no|nope|sure|right|correct)\b)", re.IGNORECASE)
_LEADING = re.compile(r"^[\s\W_]+", re.UNICODE)


def awaited_answer(question: str) -> Awaited | None:
    """What the bot's last words ask the caller for, when it is something whose answer is known complete."""
    if _ASKS_ID.search(question):
        return Awaited.ID_DIGITS
    if _ASKS_YES_NO.search(question.strip()):
        return Awaited.YES_NO
    return None


def answers(awaited: Awaited | None, text: str) -> bool:
    """True when `text` is a complete answer to what was asked: nothing more needs to be heard."""
    if awaited is Awaited.ID_DIGITS:
        return parse_id_last4(text) is not None
    if awaited is Awaited.YES_NO:
        said = _LEADING.sub("", to_simplified(text))
        return bool(_CLEAR_YES_NO.match(said)) and confirmation_answer(said) is not None
    return False

