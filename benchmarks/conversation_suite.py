"""The dialogue suite: borrower conversations written apart from the training data (benchmarks/dialogues.yml), run
against a real stack of its own; each outcome is read from the ledger, and no bot line before verification may
carry a debt detail. Prints the success rate by category and every failure with what the bot said.

    .venv/bin/python -m benchmarks.conversation_suite [--only CATEGORY ...] [--workers 4]
"""
from __future__ import annotations

import argparse
import random
import re
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from benchmarks.bench_stack import UNTHROTTLED, benchmark_stack
from ledger.repository import Ledger
from tests.e2e.chat import Chat, discloses_debt
from tests.stack import BorrowerPool

DIALOGUES = Path(__file__).with_name("dialogues.yml")
SEEDED = 1500
SEEDED_US = 400
MIN_BALANCE_CENTS = {"zh": 600_000, "en": 461_500}  # every amount the dialogues promise fits
VERIFIED = ("核实通过", "you're verified")
_PLACEHOLDER = re.compile(r"\{(last4|wrong4|dob)\}")


@dataclass
class Outcome:
    dialogue: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    heard: list[tuple[str, str]] = field(default_factory=list)  # (borrower line, bot reply)


# A fresh seeded borrower per dialogue (outcomes are per borrower in the ledger), on the tiers the dialogues' expected
# plans are written for, with a balance every dialogue's amounts fit.
WANTED_TIER = {"zh": "A", "en": "B"}


def _wrong_digits(right: str) -> str:
    rng = random.Random(right)
    while (wrong := f"{rng.randrange(10_000):04d}") == right:
        pass
    return wrong


def _check(ledger: Ledger, expect: dict[str, Any], chat: Chat, borrower, account, verified_at: int | None,
           replies: list[str]) -> list[str]:
    problems = []
    conversation = chat.conversation_id
    verified = ledger.verified_check(conversation, borrower.borrower_id) is not None
    if verified != expect.get("verified", False):
        problems.append(f"verified={verified}, expected {expect.get('verified', False)}")
    before = replies if verified_at is None else replies[:verified_at]
    if any(discloses_debt(text) for text in [chat.opening, *before]):
        problems.append("DISCLOSURE before verification")
    if "promise" in expect:
        promises = [p for p in ledger.promises_for(account.account_id) if p.conversation_id == conversation]
        got = (promises[-1].amount_cents // 100, promises[-1].promised_date.isoformat()) if promises else None
        wanted = (int(expect["promise"]["amount"]), str(expect["promise"]["date"]))
        if got != wanted:
            problems.append(f"promise {got}, expected {wanted}")
    if "plan" in expect:
        plans = [p.periods for p in ledger.plans_for(account.account_id)
                 if p.conversation_id == conversation and p.status == "accepted"]
        if plans != [int(expect["plan"]["periods"])]:
            problems.append(f"accepted plans {plans}, expected {expect['plan']['periods']} periods")
    if expect.get("callback"):
        if not [c for c in ledger.callbacks_for(borrower.borrower_id) if c.conversation_id == conversation]:
            problems.append("no callback recorded")
    if "claim" in expect:
        kinds = [c.kind for c in ledger.claims_for(borrower.borrower_id) if c.conversation_id == conversation]
        if expect["claim"] not in kinds:
            problems.append(f"claims {kinds}, expected {expect['claim']}")
    if "do_not_contact" in expect and ledger.is_do_not_contact(borrower.borrower_id) != expect["do_not_contact"]:
        problems.append(f"do_not_contact={not expect['do_not_contact']}, expected {expect['do_not_contact']}")
    if "review" in expect:
        kinds = [r.kind for r in ledger.review_requests(None, conversation_id=conversation)]
        if expect["review"] not in kinds:
            problems.append(f"review requests {kinds}, expected {expect['review']}")
    if "handoff" in expect:
        reasons = [h.reason for h in ledger.handoffs_for(conversation)]
        if expect["handoff"] not in reasons:
            problems.append(f"handoffs {reasons}, expected {expect['handoff']}")
    if "ended" in expect and chat.ended != expect["ended"]:
        problems.append(f"ended={chat.ended}, expected {expect['ended']}")
    return problems


def _spoken_date_of_birth(born: date, language: str) -> str:
    """The taken borrower's own date of birth, as a borrower types it: 'june 30 1985', '1985年6月30日'."""
    if language == "en":
        return f"{born.strftime('%B').lower()} {born.day} {born.year}"
    return f"{born.year}年{born.month}月{born.day}日"


def run_dialogue(gateway_url: str, ledger: Ledger, borrowers: BorrowerPool, dialogue: dict[str, Any]) -> Outcome:
    outcome = Outcome(dialogue)
    language = dialogue.get("language", "zh")
    borrower, account = borrowers.take(WANTED_TIER[language], MIN_BALANCE_CENTS[language], language=language)
    values = {"last4": borrower.id_last4, "wrong4": _wrong_digits(borrower.id_last4),
              "dob": _spoken_date_of_birth(borrower.date_of_birth, language)}
    chat = Chat(gateway_url, borrower.borrower_id)
    replies: list[str] = []
    verified_at = None
    try:
        for line in dialogue["turns"]:
            if chat.ended:
                break
            said = _PLACEHOLDER.sub(lambda m: values[m.group(1)], str(line))
            reply = chat.say(said)
            replies.append(reply)
            outcome.heard.append((said, reply))
            if verified_at is None and any(marker in reply for marker in VERIFIED):
                verified_at = len(replies) - 1  # the reply that says so may go on to the balance
        outcome.problems = _check(ledger, dialogue.get("expect", {}), chat, borrower, account, verified_at, replies)
    except Exception as error:  # a broken turn is a failed dialogue, reported with the rest
        outcome.problems.append(f"{type(error).__name__}: {error}")
    finally:
        chat.close()
    return outcome


def report(outcomes: list[Outcome]) -> None:
    by_category: dict[str, Counter] = defaultdict(Counter)
    for outcome in outcomes:
        by_category[outcome.dialogue["category"]]["passed" if not outcome.problems else "failed"] += 1
    print("\nFailures:")
    for outcome in outcomes:
        if outcome.problems:
            print(f"\n  {outcome.dialogue['id']} [{outcome.dialogue['category']}]: {'; '.join(outcome.problems)}")
            for said, reply in outcome.heard:
                print(f"    > {said}\n      {reply.replace(chr(10), ' / ')}")
    print(f"\n{'category':24s} passed / total")
    for category in sorted(by_category):
        counts = by_category[category]
        print(f"{category:24s} {counts['passed']:4d} / {counts['passed'] + counts['failed']:4d}")
    passed = sum(1 for outcome in outcomes if not outcome.problems)
    disclosures = sum(1 for outcome in outcomes if "DISCLOSURE before verification" in outcome.problems)
    by_language = {language: [o for o in outcomes if o.dialogue.get("language", "zh") == language] for language in ("zh", "en")}
    languages = "   ".join(f"{name}: {sum(1 for o in group if not o.problems)}/{len(group)}"
                           for name, group in zip(("Chinese", "English"), by_language.values()))
    print(f"\nall: {passed}/{len(outcomes)} = {passed / len(outcomes):.1%}   {languages}   "
          f"disclosures before verification: {disclosures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="categories to run")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    dialogues = yaml.safe_load(DIALOGUES.read_text(encoding="utf-8"))["dialogues"]
    if args.only:
        dialogues = [d for d in dialogues if d["category"] in args.only]
    with benchmark_stack("dialogues", borrowers=SEEDED, port_base=26000, redis_db=12, gateway_env=UNTHROTTLED,
                         us_borrowers=SEEDED_US) as (stack, ledger):
        borrowers = BorrowerPool(ledger, seeded=SEEDED, seeded_us=SEEDED_US)
        with ThreadPoolExecutor(args.workers) as pool:
            outcomes = list(pool.map(lambda d: run_dialogue(stack.gateway_url, ledger, borrowers, d), dialogues))
    report(outcomes)


if __name__ == "__main__":
    main()
