"""Intent lines for the encoder experiments: data/nlu/**/*.yml (annotations stripped with benchmarks.nlu_split's
parse_line), the seeded per-line fold of benchmarks.nlu_split for choosing settings, and the held-out files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.nlu_split import TRAIN_DIR, _fold_of, parse_line

ROOT = TRAIN_DIR.parents[1]
HOLDOUT = {"zh": ROOT / "tests" / "nlu_holdout" / "holdout.yml", "en": ROOT / "tests" / "nlu_holdout" / "holdout_en.yml"}


@dataclass(frozen=True)
class Line:
    text: str
    intent: str
    lang: str
    fold_key: str  # the stripped "- ..." line, as benchmarks.nlu_split hashes it


def normalise(text: str) -> str:
    """Traditional -> Simplified and Cantonese words -> Mandarin, as the NLU's TextNormaliser did when these numbers
    were measured (it now also reads slang and English shorthand, not applied here)."""
    from chinese_text import to_mandarin, to_simplified

    return to_mandarin(to_simplified(text))


def _file_lines(path: Path, lang: str) -> list[Line]:
    out = []
    for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
        if item.get("intent"):
            for line in (item.get("examples") or "").splitlines():
                line = line.strip()
                if line:
                    out.append(Line(normalise(parse_line(line[2:].strip())[0]), item["intent"], lang, line))
    return out


def training_lines() -> list[Line]:
    out = []
    for path in sorted(TRAIN_DIR.rglob("*.yml")):
        out += _file_lines(path, "en" if path.relative_to(TRAIN_DIR).parts[0] == "en" else "zh")
    return out


def fold_split(fold: int = 0, folds: int = 5) -> tuple[list[Line], list[Line]]:
    """(train, held) exactly as `benchmarks.nlu_split split --fold F --folds K` divides data/nlu/."""
    train, held = [], []
    for line in training_lines():
        (held if _fold_of(line.intent, line.fold_key, folds) == fold else train).append(line)
    return train, held


def holdout_lines(lang: str) -> list[Line]:
    """The held-out set of one language, for the single final score (never for choosing settings)."""
    return _file_lines(HOLDOUT[lang], lang)
