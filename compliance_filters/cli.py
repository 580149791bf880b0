"""Command line: `python -m compliance_filters check [--context-json JSON]`.

Reads one utterance per line on stdin, writes one JSON verdict per line on stdout."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence, TextIO

from compliance_filters.check import check


def _context(raw: str | None) -> dict:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--context-json is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("--context-json must be a JSON object, e.g. '{\"identity_verified\": true}'")
    return value


def run(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
        stderr: TextIO = sys.stderr) -> int:
    parser = argparse.ArgumentParser(prog="python -m compliance_filters")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("check", help="check utterances read one per line from stdin")
    cmd.add_argument("--context-json", help="conversation context, e.g. '{\"identity_verified\": false}'")
    args = parser.parse_args(argv)
    try:
        context = _context(args.context_json)
    except ValueError as exc:
        print(f"error: {exc}", file=stderr)
        return 2
    for line in stdin:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        verdict = check(text, context)
        stdout.write(json.dumps({
            "text": text, "allowed": verdict.allowed, "categories": list(verdict.categories),
            "rules": list(verdict.rules), "replacement": verdict.replacement,
        }, ensure_ascii=False) + "\n")
    stdout.flush()
    return 0
