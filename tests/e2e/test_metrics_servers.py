"""Metrics against a real Pushgateway and Prometheus: the live endpoint, the push, every dashboard and alert query.

The engine is the stand-in (the subject is the metrics' bookkeeping), answering each
document with a chosen record, so every number below is known: 3 compliant, 1
noncompliant (a bad currency code), 2 failed (empty, binary).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import os
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from fieldmill.model.source import ModelRef

from fieldmill.schema.load import load_schema
from helpers import STANDIN, fieldmill, standin_env
from promservers import binary, get, prometheus, pushgateway, query, samples
from s3server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.metrics, pytest.mark.timeout(900)]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "fieldmill-dashboard.json"
ALERTS = DEPLOY / "prometheus" / "fieldmill-alerts.yml"
ALERT_NAMES = {"FieldmillComplianceLow", "FieldmillNoRecentSuccess", "FieldmillFailureRateHigh", "FieldmillGroundedShareLow"}


def dashboard_queries(values: dict[str, str]) -> dict[str, list[str]]:
    """Panel title -> its PromQL, with the template variables set to `values`."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    out = {}
    for panel in panels:
        exprs = []
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in values.items():
                expr = expr.replace(f"${name}", value)
            exprs.append(expr)
        out[panel["title"]] = exprs
    return out


def resolve_variables(prom: str) -> dict[str, str]:
    """The dashboard's query variables resolved the way Grafana does (label_values -> the label values API)."""
    resolved: dict[str, str] = {}
    for variable in json.loads(DASHBOARD.read_text())["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["definition"])
        selector, label = match.group(1), match.group(2)
        for name, value in resolved.items():
            selector = selector.replace(f"${name}", value)
        values = json.loads(get(f"{prom}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": selector})))["data"]
        assert values, f"variable {variable['name']} resolves to nothing"
        # As Grafana formats a multi-value variable for a =~ matcher: regex-escaped, then escaped for a PromQL string.
        resolved[variable["name"]] = "|".join(re.escape(v) for v in values).replace("\\", "\\\\")
    return resolved


def lowered_rules(folder: Path) -> Path:
    """The shipped alert rules with thresholds and `for` lowered so that this small run trips them all."""
    rules = yaml.safe_load(ALERTS.read_text())
    lowered = {"FieldmillComplianceLow": ("< 0.90", "< 0.80"), "FieldmillNoRecentSuccess": ("> 35 * 86400", "> -1"), "FieldmillFailureRateHigh": ("> 0.05", "> 0.20"),
               "FieldmillGroundedShareLow": ("< 0.80", "< 0.50")}
    for rule in rules["groups"][0]["rules"]:
        old, new = lowered[rule["alert"]]
        assert old in rule["expr"], rule
        rule["expr"] = rule["expr"].replace(old, new)
        rule["for"] = "0s"
    path = folder / "lowered.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


def corpus(folder: Path) -> dict:
    example = load_schema("invoice").json_schema["examples"][0]
    wrong = {**example, "currency": "EURO"}
    answers = folder / "answers.json"
    answers.write_text(json.dumps([json.dumps(example), json.dumps(wrong)]))
    docs = folder / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"good-{i}.txt").write_text(f"Invoice {i} [answer 0]")
    (docs / "bad-currency.txt").write_text("Invoice 9 [answer 1]")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 20)
    return standin_env(str(answers), FIELDMILL_STANDIN_DELAY_S="1")


def test_promtool_accepts_the_alert_rules():
    result = subprocess.run([binary("promtool"), "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_push_scrape_and_every_dashboard_and_alert_query_returns_data(tmp_path):
    env = corpus(tmp_path)
    port = free_port()
    with pushgateway() as gateway:
        args = [sys.executable, "-m", "fieldmill.cli", "run", str(tmp_path / "docs"), "--schema", "invoice", "--output", str(tmp_path / "out"),
                "--pushgateway", gateway, "--metrics-port", str(port), "--batch-size", "1", *STANDIN]
        process = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        live = ""
        while process.poll() is None and "fieldmill_documents_planned{" not in live:
            try:
                live = get(f"http://127.0.0.1:{port}/metrics", timeout=2).decode()
            except OSError:
                time.sleep(0.2)
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        assert samples(live, "fieldmill_documents_planned", schema="invoice") == [6]  # served while the run went on

        pushed = get(f"{gateway}/metrics").decode()
        assert samples(pushed, "fieldmill_documents_total", job="fieldmill", schema="invoice", status="compliant") == [3]
        (last_success,) = samples(pushed, "fieldmill_last_success_timestamp_seconds", job="fieldmill", schema="invoice")
        assert abs(time.time() - last_success) < 600
        for line in pushed.splitlines():  # never a document id, URI or run id as a label
            assert not re.search(r"doc_|run_id|good-0|\.txt", line), line

        rules = lowered_rules(tmp_path)
        with prometheus(tmp_path, gateway.removeprefix("http://"), [str(rules)]) as prom:
            deadline = time.monotonic() + 120
            while not query(prom, "fieldmill_documents_total")["result"]:
                assert time.monotonic() < deadline, "Prometheus never scraped the Pushgateway"
                time.sleep(1)

            def scalar(expr: str) -> float:
                (sample,) = query(prom, expr)["result"]
                return float(sample["value"][1])

            assert scalar('sum(fieldmill_documents_total{status="compliant"})') == 3
            assert scalar('sum(fieldmill_documents_total{status="noncompliant"})') == 1
            assert scalar("sum(fieldmill_failures_total)") == 2
            assert scalar("fieldmill_compliance_ratio") == pytest.approx(0.75)
            assert scalar('fieldmill_field_errors_total{field="currency"}') == 1
            assert scalar('fieldmill_field_filled_total{field="invoice_number"}') == 3
            assert scalar("fieldmill_document_latency_seconds_count") == 4  # the documents that reached the model
            assert scalar('fieldmill_tokens_total{kind="prompt"}') > 0
            assert scalar("fieldmill_documents_done / fieldmill_documents_planned") == 1
            assert scalar("fieldmill_run_duration_seconds") > 1
            # The stand-in answers with the schema's example record, which the documents never state.
            assert scalar('fieldmill_field_ungrounded_total{field="invoice_number"}') == 4  # noncompliant records keep their values
            assert scalar("fieldmill_grounded_ratio") < 0.2
            assert scalar("fieldmill_field_confidence_count") > 0 and 0 < scalar("fieldmill_review_ratio") <= 1

            variables = resolve_variables(prom)
            # Grafana escapes the label value as a regex: the default (fine-tuned) model's id, run by the stand-in.
            expected_model = ModelRef("bundled").model_id() + "@standin_engine:StandInEngine"
            assert variables["schema"] == "invoice" and variables["model"].replace("\\", "") == expected_model
            results = {}
            for title, exprs in dashboard_queries(variables).items():
                for expr in exprs:
                    data = query(prom, expr)
                    assert data["resultType"] == "vector" and data["result"], f"panel {title!r}: {expr} returned nothing"
                    for sample in data["result"]:
                        float(sample["value"][1])
                    results[title] = [(s["metric"], s["value"][1]) for s in data["result"]]
            assert {m.get("status") for m, _ in results["Documents by status"]} == {"compliant", "noncompliant", "failed"}
            assert {m["reason"] for m, _ in results["Failures by reason"]} == {"empty", "decode_error"}
            assert [m["field"] for m, _ in results["Top failing fields"]] == ["currency"]
            assert 0 < float(results["Time since last success"][0][1]) < 600
            print("\nPromQL results:\n" + "\n".join(f"  {t}: {v}" for t, v in results.items()))

            # Each alert's own expression, thresholds lowered, fires on this run.
            deadline = time.monotonic() + 60
            while True:
                firing = {a["labels"]["alertname"] for a in json.loads(get(f"{prom}/api/v1/alerts"))["data"]["alerts"] if a["state"] == "firing"}
                if firing == ALERT_NAMES or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert firing == ALERT_NAMES

        # A failed run pushes its numbers but never moves the last success.
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("x")
        failed = fieldmill("run", str(tmp_path / "docs"), "--schema", "invoice", "--output", str(blocker / "out"), "--pushgateway", gateway, *STANDIN, env=env)
        assert failed.returncode == 6, failed.stderr[-2000:]
        after = get(f"{gateway}/metrics").decode()
        assert samples(after, "fieldmill_last_success_timestamp_seconds", schema="invoice") == [last_success]
        assert samples(after, "fieldmill_documents_total", schema="invoice", status="compliant") == [0]  # the failed run's own numbers
