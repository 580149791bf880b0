"""Held-out NLU evaluation through a running Rasa server: intent accuracy and entity VALUE accuracy
(the normalised value the dialogue uses: cents, ISO date, periods, ID digits), for Chinese
(tests/nlu_holdout/holdout.yml) and English (holdout_en.yml) apart.

    .venv/bin/python -m benchmarks.evaluate_nlu                                  # starts a stack of its own
    .venv/bin/python -m benchmarks.evaluate_nlu --rasa http://127.0.0.1:5005 --token TOKEN   # a running Rasa
"""
from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

from benchmarks.bench_stack import benchmark_stack
from chinese_text import DEFAULT_TIMEZONE, normalise_entity
from tests.unit.test_nlu_data import holdout_examples


@dataclass
class NluReport:
    examples: int = 0
    intent_correct: int = 0
    entities: int = 0
    entity_values_correct: int = 0
    errors_by_intent: Counter = field(default_factory=Counter)
    confusions: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.examples

    @property
    def entity_value_accuracy(self) -> float:
        return self.entity_values_correct / self.entities if self.entities else 1.0


def _language(source: str) -> str:
    return "en" if source.endswith("_en.yml") else "zh"


def evaluate(rasa_url: str, token: str) -> dict[str, NluReport]:
    reports = {"zh": NluReport(), "en": NluReport()}
    now = datetime.now(timezone.utc)
    with httpx.Client(base_url=rasa_url, timeout=30) as http:
        for example in holdout_examples():
            language = _language(example.source)
            report = reports[language]
            parsed = http.post("/model/parse", params={"token": token}, json={"text": example.text}).json()
            report.examples += 1
            predicted = parsed["intent"]["name"]
            if predicted == example.intent:
                report.intent_correct += 1
            else:
                report.errors_by_intent[example.intent] += 1
                report.confusions.append((example.text, example.intent, predicted))
            found = {(e["entity"], e["value"]) for e in parsed.get("entities", [])}
            for span in example.spans:
                # /model/parse carries no conversation clock: the NLU reads dates now, in its default zone.
                expected = normalise_entity(span.entity, span.value, now, DEFAULT_TIMEZONE)
                if expected is None:
                    continue  # vague on purpose ('下周'): the dialogue asks again, no value to match
                report.entities += 1
                report.entity_values_correct += (span.entity, expected) in found
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rasa", help="a running Rasa server (default: start a benchmark stack)")
    parser.add_argument("--token", help="its gateway token (COLLECTIONS_RASA_TOKEN)")
    args = parser.parse_args()
    if args.rasa:
        if not args.token:
            parser.error("--rasa needs --token")
        reports = evaluate(args.rasa, args.token)
    else:
        with benchmark_stack("nlu", borrowers=10, port_base=28000, redis_db=13) as (stack, _):
            reports = evaluate(stack.rasa_url, stack.config.rasa_token)
    for language, report in reports.items():
        print(f"\n[{language}] held-out examples   {report.examples}")
        print(f"[{language}] intent accuracy     {report.intent_accuracy:.3f}")
        print(f"[{language}] entity value accuracy {report.entity_value_accuracy:.3f} "
              f"({report.entity_values_correct}/{report.entities})")
        for text, expected, predicted in report.confusions:
            print(f"  {expected:>20} → {predicted:<20} {text}")


if __name__ == "__main__":
    main()
