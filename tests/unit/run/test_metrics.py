"""The run's metrics: values from rows, bounded labels, and dashboard/alert queries that name only real metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest

from fieldmill.run.metrics import RunMetrics, field_label, filled_paths
from promservers import samples


# Every metric name a run exports: what dashboards and alerts may query (the registry must match it exactly).
METRIC_NAMES = (
    "fieldmill_documents_total",
    "fieldmill_failures_total",
    "fieldmill_compliance_ratio",
    "fieldmill_field_errors_total",
    "fieldmill_field_filled_total",
    "fieldmill_document_latency_seconds",
    "fieldmill_generation_seconds",
    "fieldmill_tokens_total",
    "fieldmill_documents_planned",
    "fieldmill_documents_done",
    "fieldmill_run_duration_seconds",
    "fieldmill_last_success_timestamp_seconds",
    "fieldmill_field_ungrounded_total",
    "fieldmill_field_confidence",
    "fieldmill_grounded_ratio",
    "fieldmill_review_ratio",
    "fieldmill_worker_seconds_per_1k_docs",
    "fieldmill_cost_per_1k_docs",
)

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def exposition(metrics: RunMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def row(status, reason=None, errors=(), record=None, latency=2.0, prompt=100, completion=40):
    return {"status": status, "reason": reason, "errors": list(errors), "record_value": record, "latency_s": latency,
            "generation_s": latency / 2, "prompt_tokens": prompt, "completion_tokens": completion}


def test_list_indices_fold_into_one_field_label():
    assert field_label("line_items[12].amount") == "line_items[].amount"
    assert field_label("") == "$" and field_label("total") == "total"


def test_map_keys_collapse_to_the_maps_path_so_series_never_grow_with_the_corpus():
    from fieldmill.schema.hardening import harden

    hardened = harden({"type": "object", "properties": {
        "lines": {"type": "array", "items": {"type": "object", "properties": {"extras": {"type": "object", "additionalProperties": {"type": "string"}},
                                                                               "amount": {"type": "number"}}}},
        "attributes": {"type": ["object", "null"], "additionalProperties": {"type": "number"}}}})
    assert field_label("lines[3].extras.Colour", hardened) == "lines[].extras"
    assert field_label("lines[0].amount", hardened) == "lines[].amount"
    assert field_label("attributes.Serial No 4471", hardened) == "attributes"
    assert field_label("$", hardened) == "$"
    m = RunMetrics()
    m.start("s", "m", hardened)
    for key in ("Colour", "Size", "Serial No 4471"):
        m.observe({"status": "compliant", "record_value": {"lines": [], "attributes": {key: 1}}, "errors": [{"field": f"attributes.{key}", "message": "x"}]})
    text = generate_latest(m.registry).decode()
    assert samples(text, "fieldmill_field_filled_total", field="attributes") == [3]
    assert samples(text, "fieldmill_field_errors_total", field="attributes") == [3] and "Serial" not in text


def test_filled_paths_are_leaves_with_values():
    record = {"a": 1, "b": None, "c": "", "d": {"e": "x", "f": None}, "tags": ["x", None], "items": [{"q": 1}, {"q": None, "r": 2}], "none": []}
    assert filled_paths(record) == {"a", "d.e", "tags[]", "items[].q", "items[].r"}


def test_rows_become_counts_ratio_histograms_and_tokens():
    m = RunMetrics()
    m.start("invoice", "gemma@1")
    m.plan(listed=10, already_done=4)
    m.observe(row("compliant", record={"total": 5, "lines": [{"amount": 1}]}))
    m.observe(row("noncompliant", errors=[{"field": "lines[0].amount", "message": "x"}, {"field": "lines[3].amount", "message": "y"}]))
    m.observe(row("compliant", record={"total": 7}))
    m.observe(row("failed", reason="empty", latency=0.001, prompt=0, completion=0))
    m.finish(succeeded=True)
    text = exposition(m)
    assert samples(text, "fieldmill_documents_total", schema="invoice", model="gemma@1", status="compliant") == [2]
    assert samples(text, "fieldmill_documents_total", status="failed") == [1]
    assert samples(text, "fieldmill_failures_total", reason="empty") == [1]
    assert samples(text, "fieldmill_compliance_ratio", schema="invoice", model="gemma@1") == [2 / 3]
    assert samples(text, "fieldmill_field_errors_total", field="lines[].amount") == [2]
    assert samples(text, "fieldmill_field_filled_total", field="total") == [2]
    assert samples(text, "fieldmill_field_filled_total", field="lines[].amount") == [1]
    assert samples(text, "fieldmill_document_latency_seconds_count") == [3]  # the failed row never reached the model
    assert samples(text, "fieldmill_document_latency_seconds_bucket", le="2.5") == [3]
    assert samples(text, "fieldmill_tokens_total", kind="prompt") == [300] and samples(text, "fieldmill_tokens_total", kind="completion") == [120]
    assert samples(text, "fieldmill_documents_planned") == [10] and samples(text, "fieldmill_documents_done") == [8]
    assert len(samples(text, "fieldmill_last_success_timestamp_seconds", schema="invoice")) == 1
    assert "_created" not in text


def test_grounding_and_confidence_become_ungrounded_counts_ratios_and_a_histogram():
    m = RunMetrics()
    m.start("invoice", "gemma@1")
    evidence = [{"field": "total"}, {"field": "lines[0].amount"}, {"field": "number"}]
    m.observe({**row("compliant", record={"total": 5}), "evidence": evidence, "ungrounded_fields": ["city"],
               "confidence": [("total", 0.99), ("lines[0].amount", 0.5), ("number", 0.97), ("city", 0.96)]})
    m.observe({**row("noncompliant"), "evidence": [], "ungrounded_fields": ["lines[3].amount"], "confidence": [("lines[3].amount", 0.999)]})
    m.observe({**row("failed", reason="empty"), "ungrounded_fields": ["never"]})  # failed rows have no values
    text = exposition(m)
    assert samples(text, "fieldmill_field_ungrounded_total", field="city") == [1]
    assert samples(text, "fieldmill_field_ungrounded_total", field="lines[].amount") == [1]
    assert samples(text, "fieldmill_grounded_ratio", schema="invoice", model="gemma@1") == [3 / 5]
    assert samples(text, "fieldmill_review_ratio", schema="invoice", model="gemma@1") == [3 / 5]  # 0.5, city and lines[3] ungrounded
    assert samples(text, "fieldmill_field_confidence_count") == [5] and samples(text, "fieldmill_field_confidence_bucket", le="0.9") == [1]


def test_a_failed_run_has_no_last_success_and_every_series_starts_at_zero():
    m = RunMetrics()
    m.start("invoice", "gemma@1")
    m.finish(succeeded=False)
    text = exposition(m)
    assert samples(text, "fieldmill_last_success_timestamp_seconds") == []
    assert sorted(samples(text, "fieldmill_documents_total")) == [0, 0, 0]
    assert "fieldmill_run_duration_seconds" in text


def test_metric_names_follow_the_conventions_and_match_the_registry():
    m = RunMetrics()
    m.start("s", "m")
    m.cost({"worker_seconds_per_1k_docs": 120.0, "cost_per_1k_docs": 0.1})
    m.finish(succeeded=True)
    names = {family.name + ("_total" if family.type == "counter" else "") for family in m.registry.collect()}
    assert names == set(METRIC_NAMES)
    for name in METRIC_NAMES:
        assert name.startswith("fieldmill_") and not name.endswith("_count")
    labels = {label for family in m.registry.collect() for sample in family.samples for label in sample.labels}
    assert labels <= {"schema", "model", "status", "reason", "field", "kind", "le"}


def referenced_metrics(expr: str) -> set[str]:
    names = set(re.findall(r"\b(fieldmill_[a-z_]+)", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_every_dashboard_query_uses_defined_metrics_and_defined_variables():
    dashboard = json.loads((DEPLOY / "grafana" / "fieldmill-dashboard.json").read_text())
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "schema", "model"} <= variables
    titles = set()
    for panel in dashboard["panels"]:
        titles.add(panel["title"])
        for target in panel["targets"]:
            assert referenced_metrics(target["expr"]) and referenced_metrics(target["expr"]) <= set(METRIC_NAMES), target["expr"]
            assert set(re.findall(r"\$(\w+)", target["expr"])) <= variables, target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert referenced_metrics(variable["definition"]) <= set(METRIC_NAMES)
            assert set(re.findall(r"\$(\w+)", variable["definition"])) <= variables
    assert {"Compliance rate", "Documents by status", "Failures by reason", "Top failing fields", "Document latency p50 / p95 / p99",
            "Documents / second", "Tokens / second", "Time since last success", "Grounded share of values", "Fields needing review",
            "Top ungrounded fields"} <= titles


def test_alert_rules_use_defined_metrics_and_the_config_scrapes_the_gateway_with_honor_labels():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "fieldmill-alerts.yml").read_text())
    alerts = {r["alert"]: r for r in rules["groups"][0]["rules"]}
    assert set(alerts) == {"FieldmillComplianceLow", "FieldmillNoRecentSuccess", "FieldmillFailureRateHigh", "FieldmillGroundedShareLow"}
    for rule in alerts.values():
        assert referenced_metrics(rule["expr"]) <= set(METRIC_NAMES) and rule["annotations"]["summary"]
    assert "35 * 86400" in alerts["FieldmillNoRecentSuccess"]["expr"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert jobs["pushgateway"]["honor_labels"] is True and "ray" in jobs
    assert config["rule_files"] == ["fieldmill-alerts.yml"]
    kustomization = yaml.safe_load((DEPLOY / "grafana" / "kustomization.yaml").read_text())
    for generator in kustomization["configMapGenerator"]:
        for name in generator["files"]:
            assert (DEPLOY / "grafana" / name).is_file()


def test_cost_per_thousand_documents():
    from fieldmill.run.cost import describe, run_cost

    cost = run_cost(wall_s=360.0, workers=2, documents=600, price=3.0)
    assert cost["worker_seconds"] == 720 and cost["worker_seconds_per_1k_docs"] == 1200
    assert cost["cost"] == pytest.approx(0.6) and cost["cost_per_1k_docs"] == pytest.approx(1.0)
    assert "per 1,000 documents" in describe(cost) and "cost" not in run_cost(10, 1, 5, None)
