"""`fieldmill monthly`: the month's name, the template, and create-once-then-wait against a fake Kubernetes API (HTTP)."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fieldmill import cli
from fieldmill.run.monthly import MAX_NAME, MonthlyError, job_name, month_of, render

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "kuberay" / "rayjob-template.yaml"
PARAMS = {"SCHEMA": "medical_record", "INPUT_TEMPLATE": "s3://records/${MONTH}/", "MODEL": "s3://m/x", "OUTPUT": "s3://o/",
          "IMAGE": "img:1", "GPU_WORKERS": "2", "FIELDMILL_KUBE_TOKEN": "tok-123"}


def test_month_of_steps_across_years():
    assert month_of(dt.date(2026, 12, 1), -1) == "2026-11"
    assert month_of(dt.date(2027, 1, 1), -1) == "2026-12"
    assert month_of(dt.date(2026, 3, 31), 0) == "2026-03"
    assert month_of(dt.date(2026, 1, 15), -13) == "2024-12"


def test_job_names_are_deterministic_dns_names_within_kuberays_limit():
    assert job_name("medical_record", "2026-11") == "fieldmill-medical-record-2026-11" == job_name("medical_record", "2026-11")
    long = job_name("A_very_long_Schema_name_for_the_claims_department", "2026-11")
    assert len(long) <= MAX_NAME and long.endswith("-2026-11") and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", long)
    assert job_name("invoice", "2026-11") != job_name("invoice", "2026-12")


def test_render_refuses_unknown_placeholders():
    with pytest.raises(MonthlyError, match="UNSET"):
        render("kind: RayJob\nspec: {entrypoint: ${UNSET}}\n", {"NAME": "n"})
    with pytest.raises(MonthlyError, match="not a RayJob"):
        render("kind: Pod\n", {"NAME": "n"})


class FakeKube:
    """The two RayJob endpoints the scheduler uses, with a scripted status sequence."""

    def __init__(self, statuses: list[dict], existing: bool = False):
        self.statuses = statuses
        self.jobs: dict[str, dict] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.existing = existing
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(("POST", self.path, self.headers.get("Authorization")))
                name = body["metadata"]["name"]
                if "/namespaces/forbidden/" in self.path:
                    return self.reply(403, {"kind": "Status", "reason": "Forbidden", "message": "rayjobs.ray.io is forbidden"})
                if name in fake.jobs or fake.existing:
                    return self.reply(409, {"kind": "Status", "reason": "AlreadyExists", "message": f'rayjobs.ray.io "{name}" already exists'})
                fake.jobs[name] = body
                self.reply(201, body)

            def do_GET(self):
                fake.requests.append(("GET", self.path, self.headers.get("Authorization")))
                status = fake.statuses.pop(0) if len(fake.statuses) > 1 else fake.statuses[0]
                self.reply(200, {"metadata": {"name": self.path.rsplit("/", 1)[-1]}, "status": status})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


RUNNING = {"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}
DONE = {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED", "message": "Job finished successfully."}
FAILED = {"jobDeploymentStatus": "Failed", "jobStatus": "FAILED", "message": "Job entrypoint command failed with exit code 6"}


def monthly(fake: FakeKube, monkeypatch, *extra: str) -> int:
    for key, value in PARAMS.items():
        monkeypatch.setenv(key, value)
    return cli.main(["monthly", "--template", str(TEMPLATE), "--month", "2026-11", "--namespace", "extraction",
                     "--api-server", fake.url, "--poll-seconds", "0.01", *extra])


def test_creates_the_months_rayjob_waits_and_exits_with_its_success(monkeypatch, capsys):
    fake = FakeKube([RUNNING, RUNNING, DONE])
    assert monthly(fake, monkeypatch) == 0
    (job,) = fake.jobs.values()
    assert job["metadata"]["name"] == "fieldmill-medical-record-2026-11" and job["kind"] == "RayJob"
    assert job["spec"]["entrypoint"].startswith("fieldmill run s3://records/2026-11/ --schema medical_record --model s3://m/x --output s3://o/")
    assert job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 2
    assert fake.requests[0] == ("POST", "/apis/ray.io/v1/namespaces/extraction/rayjobs", "Bearer tok-123")
    assert all(r[1] == "/apis/ray.io/v1/namespaces/extraction/rayjobs/fieldmill-medical-record-2026-11" for r in fake.requests[1:])
    out = capsys.readouterr().out
    assert "created RayJob extraction/fieldmill-medical-record-2026-11" in out and "succeeded" in out


def test_a_second_creation_for_the_month_is_refused_and_waits_for_the_existing_job(monkeypatch, capsys):
    fake = FakeKube([RUNNING, DONE])
    assert monthly(fake, monkeypatch) == 0
    fake.statuses = [DONE]
    assert monthly(fake, monkeypatch) == 0
    assert len(fake.jobs) == 1 and [r[0] for r in fake.requests].count("POST") == 2
    assert "already exists: not starting a second run for this month" in capsys.readouterr().out


def test_a_failed_rayjob_fails_the_pod(monkeypatch, capsys):
    fake = FakeKube([RUNNING, FAILED])
    assert monthly(fake, monkeypatch) == 1
    assert "exit code 6" in capsys.readouterr().out


def test_an_api_refusal_is_a_one_line_error(monkeypatch, capsys):
    fake = FakeKube([DONE])
    for key, value in PARAMS.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["monthly", "--template", str(TEMPLATE), "--month", "2026-11", "--namespace", "forbidden", "--api-server", fake.url]) == 1
    assert "HTTP 403 rayjobs.ray.io is forbidden" in capsys.readouterr().err and not fake.jobs


def test_a_missing_parameter_stops_before_any_request(monkeypatch, capsys):
    fake = FakeKube([DONE])
    for key, value in PARAMS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("IMAGE")
    assert cli.main(["monthly", "--template", str(TEMPLATE), "--month", "2026-11", "--namespace", "x", "--api-server", fake.url]) == 1
    assert "IMAGE" in capsys.readouterr().err and not fake.requests
