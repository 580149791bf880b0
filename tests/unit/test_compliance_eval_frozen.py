"""The independent evaluation set is frozen: any edit must be deliberate (see its README)."""
import hashlib
from pathlib import Path

import pytest

from compliance_filters.training_data import EVALUATION_DIR, refuse_evaluation_data

EVAL_SET = Path(__file__).resolve().parents[1] / "compliance_eval" / "independent_eval.tsv"
EVAL_SET_2 = EVAL_SET.with_name("independent_eval_2.tsv")  # written by another author after the first was overused
FROZEN = {EVAL_SET: "a49a77d734eeca9d95c51f46c964571719178ca58442e81e2afadc14f04c0829",
          EVAL_SET_2: "14cb17ce84fc03ba5e0bb1616fd7c43ad486205728ce6924d64ea52eda10add2"}
independent_sets = pytest.mark.parametrize("eval_set", list(FROZEN), ids=lambda path: path.stem)


@independent_sets
def test_evaluation_set_is_unchanged(eval_set):
    assert hashlib.sha256(eval_set.read_bytes()).hexdigest() == FROZEN[eval_set]


@independent_sets
def test_evaluation_set_is_large_enough_and_well_formed(eval_set):
    lines = eval_set.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    assert header == ["label", "category", "lang", "source", "text"]
    assert all(len(row) == 5 for row in rows)
    assert sum(row[0] == "block" for row in rows) >= 500
    assert sum(row[0] == "lawful" for row in rows) >= 500


@independent_sets
def test_trainer_refuses_the_evaluation_set(eval_set):
    assert eval_set.resolve().is_relative_to(EVALUATION_DIR)
    with pytest.raises(ValueError, match="evaluation"):
        refuse_evaluation_data(eval_set)


DEV_SET = EVAL_SET.with_name("dev_set.tsv")


def test_dev_set_is_well_formed_refused_by_the_trainer_and_apart_from_the_independent_set():
    import re

    def grams(text):
        compact = re.sub(r"[\W_]+", "", text.lower())
        return {compact[i:i + 3] for i in range(max(1, len(compact) - 2))}

    lines = DEV_SET.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["label", "category", "lang", "source", "text"]
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 5 for row in rows)
    assert sum(row[0] == "block" for row in rows) >= 300 and sum(row[0] == "lawful" for row in rows) >= 300
    with pytest.raises(ValueError, match="evaluation"):
        refuse_evaluation_data(DEV_SET)
    independent = [grams(line.split("\t")[4]) for line in EVAL_SET.read_text(encoding="utf-8").splitlines()[1:]]
    for row in rows:
        mine = grams(row[4])
        assert max(len(mine & other) / len(mine | other) for other in independent) <= 0.5, row[4]
