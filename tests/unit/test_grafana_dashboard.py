"""deploy/grafana/collections.json asks Prometheus only for what the code registers (monitoring.metrics), grouped only by
labels those metrics have, and shows every metric the code registers."""
from __future__ import annotations

import json
import re

from prometheus_client.metrics import MetricWrapperBase

from monitoring import metrics
from configuration.settings import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "collections.json"
_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
_METRIC_NAME = re.compile(r"\bcollections_[a-z_]+")
_GROUPING = re.compile(r"\bby \(([^)]*)\)")


def exposed() -> dict[str, MetricWrapperBase]:
    """Every series name the registered metrics expose -> its metric."""
    names = {}
    for metric in metrics.REGISTERED:
        for family in metric.describe():
            for suffix in _SUFFIXES[family.type]:
                names[family.name + suffix] = metric
    return names


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def problems(expr: str, names: dict[str, MetricWrapperBase]) -> list[str]:
    """What in the expression names no registered metric, or groups by a label its metric does not have."""
    used = _METRIC_NAME.findall(expr)
    if not used:
        return [f"no collections_ metric in {expr!r}"]
    found = []
    for name in used:
        if name not in names:
            found.append(f"{name} is not registered by monitoring.metrics")
            continue
        labels = set(names[name]._labelnames) | ({"le"} if name.endswith("_bucket") else set())
        for grouping in _GROUPING.findall(expr):
            found += [f"{name} has no label {label}" for label in {part.strip() for part in grouping.split(",")} - labels]
    return found


def test_every_expression_names_registered_metrics_and_their_labels():
    names = exposed()
    assert [problem for expr in expressions() for problem in problems(expr, names)] == []


def test_every_registered_metric_has_a_panel():
    shown = {name for expr in expressions() for name in _METRIC_NAME.findall(expr)}
    for metric in metrics.REGISTERED:
        family = metric.describe()[0]
        assert any(family.name + suffix in shown for suffix in _SUFFIXES[family.type]), family.name


def test_the_check_finds_a_misspelt_metric_and_a_missing_label():
    names = exposed()
    assert problems("sum(rate(collections_turn_second_count[5m]))", names) == [
        "collections_turn_second_count is not registered by monitoring.metrics"]
    assert problems("sum by (le, borrower) (rate(collections_turn_seconds_bucket[5m]))", names) == [
        "collections_turn_seconds_bucket has no label borrower"]
    assert problems("sum by (rule) (increase(collections_compliance_blocks_total[1h]))", names) == []
