"""Precision and recall per category of the whole outgoing filter (rules + classifier, as the egress
runs it) on the held-out part of compliance_filters/data/corpus.tsv, which the classifier never
trains on.

    .venv/bin/python -m benchmarks.evaluate_filter
"""
from __future__ import annotations

from collections import Counter

from compliance_filters import check
from compliance_filters.classifier import CATEGORIES
from compliance_filters.train import load_corpus, split


def main() -> None:
    _, held_out = split(load_corpus())
    true_positive, predicted, actual = Counter(), Counter(), Counter()
    ok_rows = ok_blocked = 0
    for row in held_out:
        verdict = check(row["text"], {"identity_verified": True})
        fired = set(verdict.categories)
        if row["label"] == "ok":
            ok_rows += 1
            ok_blocked += bool(fired)
        else:
            actual[row["label"]] += 1
            true_positive[row["label"]] += row["label"] in fired
        for category in fired:
            predicted[category] += 1
    print(f"held-out rows {len(held_out)}: lawful {ok_rows}, harmful {sum(actual.values())}\n")
    print(f"{'category':28} {'precision':>9} {'recall':>7} {'support':>8}")
    for category in CATEGORIES:
        precision = true_positive[category] / predicted[category] if predicted[category] else float("nan")
        recall = true_positive[category] / actual[category] if actual[category] else float("nan")
        print(f"{category:28} {precision:9.3f} {recall:7.3f} {actual[category]:8d}")
    blocked_any = sum(1 for row in held_out if row["label"] != "ok" and check(row["text"], {"identity_verified": True}).categories)
    print(f"\nharmful rows blocked (any category): {blocked_any}/{sum(actual.values())}")
    print(f"lawful rows wrongly blocked: {ok_blocked}/{ok_rows}")


if __name__ == "__main__":
    main()
