"""Quality of the whole outgoing filter (rules + classifier, as the egress runs it, identity verified).

    .venv/bin/python -m benchmarks.evaluate_filter [--set corpus|independent|independent2|dev|dev-en|dev-en2|dev3|cold] [--show-errors]

* ``corpus`` — the held-out fifth of compliance_filters/data/corpus.tsv. It comes from the same
  generator as the training rows, so it measures memory more than generalisation.
* ``independent`` (default) — tests/compliance_eval/independent_eval.tsv, written by hand apart
  from every training file and never trained or tuned on. Per category: recall on the lines that
  must be blocked (blocked by any category: the line is not sent) and the share of lawful lines
  wrongly blocked. Goals (issue 15): recall ≥ 0.98 and lawful blocked ≤ 0.02, overall and per
  category.
* ``independent2`` — tests/compliance_eval/independent_eval_2.tsv (1,242 lines, 40 % English), a second set
  written by a different author who read no line of the training, development or evaluation files and no filter
  code, after the first set had been scored too often to measure generalisation. Sealed: its errors are not
  shown (--show-errors is refused), and it is scored once per round of filter changes.
* ``dev`` — tests/compliance_eval/dev_set.tsv, a development set written for tuning the filter
  (same columns and scoring as ``independent``; also never trained on). Look at its errors with
  --show-errors; look at the independent set only as the final check.
* ``dev-en`` — tests/compliance_eval/dev_set_en.tsv, an English development supplement (FDCPA /
  Reg F conduct and hard lawful lines: negations, legal facts, reminders with figures, mini-Miranda),
  scored like ``dev`` and open to tuning the same way.
* ``dev-en2`` — tests/compliance_eval/dev_set_en2.tsv, a second, smaller English development set
  written before the filter's English structure changed (72 lines, veiled threats and hard lawful
  lines), scored like ``dev``: a check that what was tuned on ``dev-en`` carries over.
* ``dev3`` — tests/compliance_eval/dev_set_3.tsv (306 lines, half Chinese, half English, all nine categories),
  written before the third filter round changed anything, apart from every training and evaluation file;
  scored like ``dev``.
* ``cold`` — the test split of COLD (thu-coai/COLDataset, Apache-2.0), never trained on: share of
  comments blocked per fine-grained label (1 attacks an individual, 2 attacks a group; 0 and 3 are
  not offensive).
"""
from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

from compliance_filters import check
from compliance_filters.classifier import CATEGORIES
from compliance_filters.train import load_corpus, split

ROOT = Path(__file__).resolve().parents[1]
INDEPENDENT_SET = ROOT / "tests" / "compliance_eval" / "independent_eval.tsv"
INDEPENDENT_SET_2 = ROOT / "tests" / "compliance_eval" / "independent_eval_2.tsv"
DEV_SET = ROOT / "tests" / "compliance_eval" / "dev_set.tsv"
DEV_SET_EN = ROOT / "tests" / "compliance_eval" / "dev_set_en.tsv"
DEV_SET_EN2 = ROOT / "tests" / "compliance_eval" / "dev_set_en2.tsv"
DEV_SET_3 = ROOT / "tests" / "compliance_eval" / "dev_set_3.tsv"
COLD_TEST = ROOT / "tests" / "compliance_eval" / "cold_test.csv"
VERIFIED = {"identity_verified": True}
COLD_LABELS = {"0": "other, not offensive", "1": "attacks an individual", "2": "attacks a group",
               "3": "anti-bias, not offensive"}


def blocked_categories(text: str) -> set[str]:
    return set(check(text, VERIFIED).categories)


def corpus_report() -> None:
    _, held_out = split(load_corpus())
    true_positive, predicted, actual = Counter(), Counter(), Counter()
    ok_rows = ok_blocked = blocked_any = 0
    for row in held_out:
        fired = blocked_categories(row["text"])
        if row["label"] == "ok":
            ok_rows += 1
            ok_blocked += bool(fired)
        else:
            actual[row["label"]] += 1
            true_positive[row["label"]] += row["label"] in fired
            blocked_any += bool(fired)
        for category in fired:
            predicted[category] += 1
    print(f"corpus held-out rows {len(held_out)}: lawful {ok_rows}, harmful {sum(actual.values())}\n")
    print(f"{'category':28} {'precision':>9} {'recall':>7} {'support':>8}")
    for category in CATEGORIES:
        precision = true_positive[category] / predicted[category] if predicted[category] else float("nan")
        recall = true_positive[category] / actual[category] if actual[category] else float("nan")
        print(f"{category:28} {precision:9.3f} {recall:7.3f} {actual[category]:8d}")
    print(f"\nharmful rows blocked (any category): {blocked_any}/{sum(actual.values())}")
    print(f"lawful rows wrongly blocked: {ok_blocked}/{ok_rows}")


def load_independent_set(path: Path = INDEPENDENT_SET) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def independent_report(show_errors: bool, path: Path = INDEPENDENT_SET) -> bool:
    """Prints the per-category table; True when every goal is met."""
    rows = load_independent_set(path)
    harmful, caught, right_category = Counter(), Counter(), Counter()
    lawful, wrongly_blocked = Counter(), Counter()
    misses, false_blocks = [], []
    for row in rows:
        fired = blocked_categories(row["text"])
        category, lang = row["category"], row["lang"]
        if row["label"] == "block":
            for key in (category, f"lang:{lang}", "overall"):
                harmful[key] += 1
                caught[key] += bool(fired)
                right_category[key] += category in fired
            if not fired:
                misses.append(row)
        else:
            for key in (category, f"lang:{lang}", "overall"):
                lawful[key] += 1
                wrongly_blocked[key] += bool(fired)
            if fired:
                false_blocks.append((row, sorted(fired)))
    print(f"{path.name}: {sum(1 for r in rows if r['label'] == 'block')} harmful, "
          f"{sum(1 for r in rows if r['label'] == 'lawful')} lawful (goals: recall ≥ 0.98, lawful blocked ≤ 0.02)\n")
    print(f"{'category':26} {'recall':>7} {'caught':>9} {'same-cat':>8} {'lawful-blocked':>15} {'':>9}")
    met = True
    for key in [*CATEGORIES, "lang:zh", "lang:en", "overall"]:
        recall = caught[key] / harmful[key] if harmful[key] else float("nan")
        false_rate = wrongly_blocked[key] / lawful[key] if lawful[key] else float("nan")
        ok = recall >= 0.98 and false_rate <= 0.02
        met &= ok
        print(f"{key:26} {recall:7.3f} {caught[key]:>4}/{harmful[key]:<4} {right_category[key] / max(harmful[key], 1):8.3f} "
              f"{false_rate:7.3f} {wrongly_blocked[key]:>3}/{lawful[key]:<4} {'' if ok else 'GOAL MISSED':>12}")
    if show_errors:
        print("\nmissed (category, text):")
        for row in misses:
            print(f"  {row['category']}\t{row['text']}")
        print("\nlawful but blocked (category, blocked as, text):")
        for row, fired in false_blocks:
            print(f"  {row['category']}\t{','.join(fired)}\t{row['text']}")
    return met


def cold_report() -> None:
    with COLD_TEST.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    total, blocked = Counter(), Counter()
    for row in rows:
        label = row["fine-grained-label"]
        total[label] += 1
        blocked[label] += bool(blocked_categories(row["TEXT"]))
    print(f"COLD test split ({len(rows)} comments), share blocked by fine-grained label:")
    for label in sorted(total):
        print(f"  {label} {COLD_LABELS[label]:26} {blocked[label] / total[label]:6.3f}  {blocked[label]:>5}/{total[label]}")
    offensive = total["1"] + total["2"]
    safe = total["0"] + total["3"]
    print(f"  offensive (1+2) recall {(blocked['1'] + blocked['2']) / offensive:.3f}; "
          f"non-offensive (0+3) blocked {(blocked['0'] + blocked['3']) / safe:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", choices=("corpus", "independent", "independent2", "dev", "dev-en", "dev-en2", "dev3",
                                          "cold"), default="independent")
    parser.add_argument("--show-errors", action="store_true", help="list misses and false blocks")
    args = parser.parse_args()
    if args.set == "corpus":
        corpus_report()
    elif args.set == "dev":
        independent_report(args.show_errors, DEV_SET)
    elif args.set == "dev-en":
        independent_report(args.show_errors, DEV_SET_EN)
    elif args.set == "dev-en2":
        independent_report(args.show_errors, DEV_SET_EN2)
    elif args.set == "dev3":
        independent_report(args.show_errors, DEV_SET_3)
    elif args.set == "independent2":
        if args.show_errors:
            parser.error("independent2 is sealed: its errors are never shown (tune on the dev sets)")
        independent_report(False, INDEPENDENT_SET_2)
    elif args.set == "cold":
        cold_report()
    else:
        independent_report(args.show_errors)


if __name__ == "__main__":
    main()
