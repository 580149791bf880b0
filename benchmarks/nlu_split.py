"""Design choices for the NLU pipeline on the TRAINING data only (never tests/nlu_holdout/): a seeded k-fold split
of data/nlu/ by line, stratified per file and intent, one fold held back; train a config on the rest and score the
fold (intent accuracy per language, entity-value accuracy) — the held-out sets stay unseen until the final score.

    .venv-rasa/bin/python -m benchmarks.nlu_split split --fold 0 --out /tmp/nlu-split-0
    .venv-rasa/bin/rasa train nlu --config config.yml --nlu /tmp/nlu-split-0/train --out /tmp/nlu-split-0/models
    .venv-rasa/bin/python -m benchmarks.nlu_split score --split /tmp/nlu-split-0 --model /tmp/nlu-split-0/models/x.tar.gz

New lines from another writer, scored on a model that never saw them before they join data/nlu/ (same layout: files
under en/ are English):

    .venv-rasa/bin/python -m benchmarks.nlu_split external --data /tmp/new-lines --out /tmp/nlu-new
    .venv-rasa/bin/python -m benchmarks.nlu_split score --split /tmp/nlu-new --model models/collections-x.tar.gz
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TRAIN_DIR = ROOT / "data" / "nlu"


# The annotation syntax of tests/unit/test_nlu_data.py (which imports pytest, absent from Rasa's environment).
_ANNOTATION = re.compile(r"\[(?P<text>[^\[\]]+)\](?:\((?P<name>[^()]+)\)|\{(?P<json>[^{}]*)\})")
_JSON_ENTITY = re.compile(r'"entity"\s*:\s*"(?P<name>[^"]+)"')


def parse_line(raw: str) -> tuple[str, list[tuple[str, str]]]:
    """`我[明天](date)还` → ('我明天还', [('date', '明天')])."""
    spans = []
    for match in _ANNOTATION.finditer(raw):
        name = match.group("name")
        if name is None:
            found = _JSON_ENTITY.search(match.group("json") or "")
            name = found.group("name") if found else "?"
        spans.append((name.split(":")[0].strip(), match.group("text")))
    return _ANNOTATION.sub(lambda m: m.group("text"), raw), spans


def nlu_lines(directory: Path = TRAIN_DIR) -> list[dict]:
    """Every line of the NLU files under `directory`: source (relative to it), intent, raw annotated text, language."""
    lines = []
    for path in sorted(directory.rglob("*.yml")):
        rel = str(path.relative_to(directory))
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if item.get("intent"):
                for line in (item.get("examples") or "").splitlines():
                    if line.strip():
                        lines.append({"source": rel, "intent": item["intent"], "raw": line.strip()[2:].strip(),
                                      "lang": "en" if rel.startswith("en/") else "zh"})
    return lines


def _fold_of(intent: str, line: str, folds: int) -> int:
    return int(hashlib.sha256(f"{intent}\x00{line}".encode()).hexdigest(), 16) % folds


def split(fold: int, folds: int, out: Path) -> None:
    held: list[dict] = []
    for path in sorted(TRAIN_DIR.rglob("*.yml")):
        rel = path.relative_to(TRAIN_DIR)
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("nlu") or []:
            intent = item.get("intent")
            if not intent:
                continue
            kept = []
            for line in (item.get("examples") or "").splitlines():
                line = line.strip()
                if not line:
                    continue
                if _fold_of(intent, line, folds) == fold:
                    held.append({"source": str(rel), "intent": intent, "raw": line[2:].strip()})
                else:
                    kept.append(line)
            item["examples"] = "\n".join(kept) + "\n"
        target = out / "train" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.dump(document, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8")
    (out / "held.json").write_text(json.dumps(held, ensure_ascii=False), encoding="utf-8")
    print(f"fold {fold}/{folds}: held back {len(held)} lines → {out}")


def external(data: Path, out: Path) -> None:
    """The lines of NLU files outside data/nlu/ as the held-back fold (the model was trained on data/nlu/ only)."""
    held = nlu_lines(data)
    out.mkdir(parents=True, exist_ok=True)
    (out / "held.json").write_text(json.dumps(held, ensure_ascii=False), encoding="utf-8")
    print(f"{len(held)} lines from {data} → {out}")


async def _parse_all(model: str, texts: list[str]) -> list[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    results = []
    for text in texts:
        results.append(await agent.parse_message(text))
    return results


def score(split_dir: Path, model: str) -> dict:
    from chinese_text import DEFAULT_TIMEZONE, normalise_entity

    held = json.loads((split_dir / "held.json").read_text(encoding="utf-8"))
    examples = [(h, "en" if h["source"].startswith("en/") else "zh") for h in held]
    started = time.process_time()
    parsed = asyncio.run(_parse_all(model, [parse_line(h["raw"])[0] for h, _ in examples]))
    now = datetime.now(timezone.utc)
    stats: dict = {lang: Counter() for lang in ("zh", "en")}
    errors: Counter = Counter()
    per_intent: dict = {lang: {} for lang in ("zh", "en")}
    misses = []
    for (example, lang), result in zip(examples, parsed):
        s = stats[lang]
        s["n"] += 1
        tally = per_intent[lang].setdefault(example["intent"], Counter())
        tally["n"] += 1
        predicted = result["intent"]["name"]
        if predicted == example["intent"]:
            s["intent_ok"] += 1
            tally["ok"] += 1
        else:
            errors[(lang, example["intent"], predicted)] += 1
            misses.append({"lang": lang, "intent": example["intent"], "predicted": predicted, "raw": example["raw"]})
        found = {(e["entity"], e["value"]) for e in result.get("entities", [])}
        for entity, value in parse_line(example["raw"])[1]:
            expected = normalise_entity(entity, value, now, DEFAULT_TIMEZONE)
            if expected is None:
                continue
            s["ent"] += 1
            s["ent_ok"] += (entity, expected) in found
            if (entity, expected) not in found:
                misses.append({"lang": lang, "entity": entity, "expected": expected, "raw": example["raw"],
                               "found": sorted(map(str, found))})
    report = {lang: {"n": s["n"], "intent_acc": round(s["intent_ok"] / s["n"], 4),
                     "entity_value_acc": round(s["ent_ok"] / max(s["ent"], 1), 4), "entities": s["ent"]}
              for lang, s in stats.items()}
    report["per_intent_acc"] = {lang: {intent: f"{t['ok']}/{t['n']}" for intent, t in sorted(intents.items())}
                                for lang, intents in per_intent.items()}
    (split_dir / "misses.json").write_text(json.dumps(misses, ensure_ascii=False, indent=0), encoding="utf-8")
    report["parse_cpu_s"] = round(time.process_time() - started, 1)
    report["top_confusions"] = [f"{l} {a}→{b} x{c}" for (l, a, b), c in errors.most_common(25)]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("split")
    s.add_argument("--fold", type=int, default=0)
    s.add_argument("--folds", type=int, default=5)
    s.add_argument("--out", type=Path, required=True)
    e = sub.add_parser("external")
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("score")
    c.add_argument("--split", type=Path, required=True)
    c.add_argument("--model", required=True)
    args = parser.parse_args()
    if args.command == "split":
        split(args.fold, args.folds, args.out)
    elif args.command == "external":
        external(args.data, args.out)
    else:
        print(json.dumps(score(args.split, args.model), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
