"""Decide whether a rule hit is excused — one job: negation, anti-fraud quotation, borrower echo.

Scoped by clause, not by word list alone:

* negation — a negator ("不会", "绝不", "never", "won't" …) shortly before the hit in the same
  clause, with no conditional or contrastive word between them ("就", "否则", "但", "unless", "or"),
  and not itself a condition ("如果不", "不还", "if you don't pay").
* anti-fraud quotation — the utterance is a fraud warning (诈骗/报警/110/scam …) and the hit is
  reported speech: a reporter ("冒充", "自称", "有人说", "pretending to be") precedes it in the same
  or the previous clause, with no first-person speaker ("我们") between them.
* echo — quoted or "您说 …" spans that repeat the borrower's own words are removed before matching.
"""
from __future__ import annotations

import re

from compliance_filters.lexicon import Hit
from compliance_filters.normalise import Clause, compact

_WINDOW_ZH = 14
_WINDOW_EN = 60

_NEGATOR_ZH = re.compile(
    r"绝不|决不|从不|从未|从来不|从来没有|永远不|并不|并没有|不会|不能|不得(?!不)|不再|不必|无需|无须|不用|不需要"
    r"|没有|没(?![收出])|未(?![来曾必])|禁止|严禁|杜绝"
    r"|不(?![仅只但光止断停少管论然久好过还付交缴接回理配得要])"
)
# "不要" is a negator only when it is not "不要逼我们/让我们…" (checked by the blockers below).
_NEGATOR_ZH_WEAK = re.compile(r"不要|请勿|切勿|勿")
_CONDITION_BEFORE_ZH = re.compile(r"(如果|要是|假如|若|只要|一旦|万一|敢)$")
_BLOCKER_ZH = re.compile(
    r"就|则|那么|否则|不然|才|逼|迫使|让我们|的话|所以|因此|必须|但|却|而|可是|只是|不过|还会|只会|照样|仍然|仍会|还是"
)

_NEGATOR_EN = re.compile(
    r"\b(never|not|no|won't|wont|will not|do not|don't|dont|cannot|can't|shall not|doesn't|didn't|nobody|no one)\b"
)
_CONDITION_BEFORE_EN = re.compile(r"\b(if|unless|when|until)\s+(\w+\s+){0,2}$")
_CONDITION_AFTER_EN = re.compile(r"^\s*(pay|repay|respond|answer|call back|cooperate|settle)\b")
_BLOCKER_EN = re.compile(r"\b(but|unless|if|or|otherwise|then|until|else|so)\b")


def is_negated(hit: Hit) -> bool:
    text, start = hit.view_text, hit.start
    if hit.view == "compact":
        return _negated_zh(text, start)
    return _negated_en(text, start)


def _negated_zh(text: str, start: int) -> bool:
    lo = max(0, start - _WINDOW_ZH)
    candidates = [m for rx in (_NEGATOR_ZH, _NEGATOR_ZH_WEAK) for m in rx.finditer(text, lo, start)]
    for m in sorted(candidates, key=lambda m: m.start(), reverse=True):
        if _CONDITION_BEFORE_ZH.search(text[max(0, m.start() - 3):m.start()]):
            continue
        if m.start() > 0 and text[m.start() - 1] == text[m.start() + 1:m.start() + 2]:
            continue  # A-not-A question: 信不信, 会不会, 是不是
        if _BLOCKER_ZH.search(text[m.end():start]):
            return False  # the nearest negator is cut off from the hit; earlier ones are too
        return True
    return False


def _negated_en(text: str, start: int) -> bool:
    lo = max(0, start - _WINDOW_EN)
    for m in reversed(list(_NEGATOR_EN.finditer(text, lo, start))):
        if _CONDITION_BEFORE_EN.search(text[:m.start()]) or _CONDITION_AFTER_EN.match(text[m.end():start]):
            return False
        if _BLOCKER_EN.search(text[m.end():start]):
            return False
        return True
    return False


# ---------------------------------------------------------------------------------------------
# Anti-fraud framing
# ---------------------------------------------------------------------------------------------
_FRAUD_CONTEXT = re.compile(
    r"诈骗|骗子|骗局|报警|110|谨防|警惕|不要相信|请勿相信|切勿|不要转账|核实|官方"
    r"|scam|fraud|police|do not trust|don't trust|beware|report it|verify"
)
_REPORTER = re.compile(
    r"冒充|假冒|冒用|自称|谎称|声称|伪装成|假扮|有人说|有人以|有人打电话说|对方说|对方称"
    r"|impersonat\w*|pretend\w*|claiming to be|claims to be|claim to be|posing as|someone says|someone claims|anyone who says"
)
_FIRST_PERSON_AFTER_ZH = re.compile(r"我")
_FIRST_PERSON_AFTER_EN = re.compile(r"\b(we|i|our|us)\b")


def is_fraud_warning(clauses: list[Clause]) -> bool:
    return any(_FRAUD_CONTEXT.search(c.compact) or _FRAUD_CONTEXT.search(c.spaced) for c in clauses)


# The bot restating what the borrower reported, or what a third party might tell them.
_BORROWER_REPORT = re.compile(
    r"您说|你说|您提到|您刚才提到|您反映|您是担心|您担心|您遇到|如果有人|若有人"
    r"|you mentioned|you said|you told us|you reported|if anyone|if someone|anyone tells you"
)


def is_borrower_report(hit: Hit, clauses: list[Clause]) -> bool:
    """The hit restates the borrower's own report ('您说有人半夜给您打电话') rather than speaking for us."""
    return is_reported_speech(hit, clauses, reporter=_BORROWER_REPORT)


def is_reported_speech(hit: Hit, clauses: list[Clause], reporter: re.Pattern[str] = _REPORTER) -> bool:
    """The hit lies in speech attributed to someone else (same or previous clause), with no
    first person ('我们'/'we') taking the words over between the attribution and the hit."""
    index = hit.clause.index
    before = hit.view_text[:hit.start]
    previous = clauses[index - 1] if index > 0 and clauses[index - 1].index == index - 1 else None
    spans = [before]
    if previous is not None:
        spans.insert(0, (previous.compact if hit.view == "compact" else previous.spaced) + " " + before)
    for span in reversed(spans):
        found = list(reporter.finditer(span))
        if not found:
            continue
        after = span[found[-1].end():]
        if hit.view == "compact":
            after = re.sub(r"^(我们|我司|本公司|我方)", "", after)
            return not _FIRST_PERSON_AFTER_ZH.search(after)
        after = re.sub(r"^\s*(us|our)\b", "", after)
        return not _FIRST_PERSON_AFTER_EN.search(after)
    return False


# ---------------------------------------------------------------------------------------------
# Borrower echo
# ---------------------------------------------------------------------------------------------
_QUOTED = re.compile(r"[“\"「『‘']([^”\"」』’']{1,120})[”\"」』’']")
_REPORTED = re.compile(
    r"(您说|你说|您刚才说|你刚才说|您刚说|您提到|您讲|您骂|you said|you called (?:us|me)|you told me)"
    r"[:：,，]?\s*([^。！？!?；;\n]+)",
    re.IGNORECASE,
)


def strip_echo(text: str, borrower_text: str | None) -> str:
    """Remove spans of ``text`` that quote the borrower verbatim (after normalisation)."""
    if not borrower_text:
        return text
    said = compact(borrower_text)
    if not said:
        return text

    def quoted(m: re.Match[str]) -> str:
        inner = compact(m.group(1))
        return "「」" if inner and inner in said else m.group(0)

    def reported(m: re.Match[str]) -> str:
        inner = compact(m.group(2))
        return m.group(1) + "「」" if inner and inner in said else m.group(0)

    return _REPORTED.sub(reported, _QUOTED.sub(quoted, text))
