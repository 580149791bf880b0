"""Scoring transcripts against references: character error rate on what the NLU would see."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import jiwer

from voice.asr.numerals import normalise_transcript

_NOT_SPOKEN = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Reference:
    path: Path
    text: str


def read_manifest(manifest: Path) -> list[Reference]:
    """A tab-separated manifest with at least `file` and `text` columns, paths relative to it."""
    with manifest.open(encoding="utf-8", newline="") as handle:
        return [Reference(manifest.parent / row["file"], row["text"])
                for row in csv.DictReader(handle, delimiter="\t")]


def comparable(text: str) -> str:
    """Both sides normalised alike (Simplified, digits) and stripped of punctuation and spaces."""
    return _NOT_SPOKEN.sub("", normalise_transcript(text))


def character_error_rate(reference: str, hypothesis: str) -> float:
    reference, hypothesis = comparable(reference), comparable(hypothesis)
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return float(jiwer.cer(reference, hypothesis)) if hypothesis else 1.0
