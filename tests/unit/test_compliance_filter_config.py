"""rules.yml validation and the command line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compliance_filters import check
from compliance_filters.rules import DEFAULT_RULES_PATH, load_rules
from configuration.files import ConfigFileError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path, mutate):
    data = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_packaged_rules_load():
    rules = load_rules()
    assert rules.classifier.threshold is None  # each category's calibrated threshold applies
    assert {c.prefix for c in rules.categories.values()} >= {"VIO", "TPD", "IMP", "FLC", "INS", "HAR", "SHM", "IND", "PRV", "CTX"}


def test_unknown_category_is_named(tmp_path):
    path = _write(tmp_path, lambda d: d["categories"].__setitem__("gossip", d["categories"]["insult"]))
    with pytest.raises(ConfigFileError, match=r"rules\.yml.*'gossip'.*unknown category"):
        load_rules(path)


def test_unknown_key_in_category_is_named(tmp_path):
    path = _write(tmp_path, lambda d: d["categories"]["violence"].__setitem__("severity", "high"))
    with pytest.raises(ConfigFileError, match=r"category 'violence'.*severity"):
        load_rules(path)


def test_duplicate_rule_id_is_named(tmp_path):
    def dup(d):
        d["categories"]["violence"]["rules"].append(dict(d["categories"]["violence"]["rules"][0]))
    with pytest.raises(ConfigFileError, match=r"category 'violence', rule 'VIO-001'.*duplicate"):
        load_rules(_write(tmp_path, dup))


def test_bad_regex_is_named(tmp_path):
    def bad(d):
        d["categories"]["harassment"]["rules"][0]["patterns"] = ["(天天打"]
    with pytest.raises(ConfigFileError, match=r"rules\.yml: category 'harassment', rule 'HAR-001'.*bad regex"):
        load_rules(_write(tmp_path, bad))


def test_empty_term_lists_are_named(tmp_path):
    def empty(d):
        rule = d["categories"]["insult"]["rules"][1]
        rule["terms"] = []
        rule.pop("patterns", None)
        rule.pop("pinyin", None)
    with pytest.raises(ConfigFileError, match=r"category 'insult', rule 'INS-002'.*non-empty"):
        load_rules(_write(tmp_path, empty))


def test_blank_term_is_named(tmp_path):
    def blank(d):
        d["categories"]["insult"]["rules"][0]["terms"].append("  ")
    with pytest.raises(ConfigFileError, match=r"rule 'INS-001'.*empty term"):
        load_rules(_write(tmp_path, blank))


def test_rule_id_must_carry_its_category_prefix(tmp_path):
    def wrong(d):
        d["categories"]["violence"]["rules"][0]["id"] = "INS-900"
    with pytest.raises(ConfigFileError, match=r"rule 'INS-900'.*VIO-001"):
        load_rules(_write(tmp_path, wrong))


def test_bad_classifier_threshold(tmp_path):
    path = _write(tmp_path, lambda d: d["classifier"].__setitem__("threshold", 3))
    with pytest.raises(ConfigFileError, match="threshold"):
        load_rules(path)


def test_an_edited_rules_file_takes_effect(tmp_path):
    def add(d):
        d["categories"]["insult"]["rules"][0]["terms"].append("大笨熊")
    rules = load_rules(_write(tmp_path, add))
    assert not check("你这个大笨熊", {"identity_verified": True}, rules=rules, classifier=None).allowed


# --- CLI ----------------------------------------------------------------------------------------

def _cli(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "compliance_filters", "check", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60,
    )


def test_cli_writes_one_json_verdict_per_line():
    result = _cli("--context-json", '{"identity_verified": false}', stdin="您好\n您还欠3,000元\n我们会联系你的家人\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["您好", "您还欠3,000元", "我们会联系你的家人"]
    assert rows[0] == {"text": "您好", "allowed": True, "categories": [], "rules": [], "replacement": None}
    assert rows[1]["categories"] == ["disclosure_before_verification"]
    assert rows[2]["allowed"] is False and "third_party_disclosure" in rows[2]["categories"]
    assert "联系你的家人" in result.stdout  # ensure_ascii=False


def test_cli_bad_context_json_exits_2():
    result = _cli("--context-json", "{not json")
    assert result.returncode == 2
    assert "--context-json" in result.stderr and "Traceback" not in result.stderr


def test_cli_context_must_be_an_object():
    result = _cli("--context-json", "[1, 2]")
    assert result.returncode == 2
