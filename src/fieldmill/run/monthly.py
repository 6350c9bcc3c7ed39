"""The monthly schedule's one step: create this month's RayJob once, wait for it, exit with its result.

The Kubernetes CronJob runs `fieldmill monthly` in a pod. The RayJob's name is derived
from the schema and the month (`fieldmill-medical-record-2026-11`), so a second creation
for the same month is refused by the API server (409) instead of starting a second run;
the pod then waits for the RayJob that exists. The RayJob comes from a template (a
ConfigMap) where `${MONTH}`, `${NAME}` and the parameters (`${SCHEMA}`, `${INPUT}`, ...)
are substituted; unknown placeholders are an error, never an empty string.

Talks to the API server with the pod's service account (token and CA mounted by
Kubernetes); `--api-server` and `FIELDMILL_KUBE_TOKEN` point it elsewhere for tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import ssl
import string
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
RAYJOBS = "/apis/ray.io/v1/namespaces/{namespace}/rayjobs"
# KubeRay derives cluster and submitter names from the RayJob's; it refuses longer names.
MAX_NAME = 47
FINISHED = ("Complete", "Failed")
SUCCEEDED = "SUCCEEDED"


class MonthlyError(RuntimeError):
    pass


def month_of(now: dt.date, offset: int) -> str:
    """`YYYY-MM` of the month `offset` months from `now`'s (-1: the month that just ended)."""
    index = now.year * 12 + (now.month - 1) + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def job_name(schema: str, month: str, prefix: str = "fieldmill") -> str:
    """A DNS-1035 name, the same every time for (schema, month)."""
    stem = re.sub(r"[^a-z0-9]+", "-", f"{prefix}-{schema}".lower()).strip("-")
    room = MAX_NAME - len(month) - 1
    return f"{stem[:room].rstrip('-')}-{month}"


def render(template: str, values: dict[str, str]) -> dict[str, Any]:
    import yaml

    try:
        text = string.Template(template).substitute(values)
    except KeyError as exc:
        raise MonthlyError(f"the RayJob template uses ${{{exc.args[0]}}}, which no parameter sets") from None
    except ValueError as exc:
        raise MonthlyError(f"the RayJob template has a bad placeholder: {exc}") from None
    manifest = yaml.safe_load(text)
    if not isinstance(manifest, dict) or manifest.get("kind") != "RayJob":
        raise MonthlyError("the template is not a RayJob manifest")
    manifest.setdefault("metadata", {})["name"] = values["NAME"]
    return manifest


@dataclass
class KubeApi:
    server: str
    token: str
    context: ssl.SSLContext | None = None

    @classmethod
    def from_environment(cls, server: str | None = None) -> "KubeApi":
        token = os.environ.get("FIELDMILL_KUBE_TOKEN")
        if token is None and (SERVICE_ACCOUNT / "token").exists():
            token = (SERVICE_ACCOUNT / "token").read_text().strip()
        if server is None:
            host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            if not host:
                raise MonthlyError("not in a Kubernetes pod (no KUBERNETES_SERVICE_HOST) and no --api-server given")
            server = f"https://{host}:{port}"
        context = None
        if server.startswith("https://"):
            ca = SERVICE_ACCOUNT / "ca.crt"
            context = ssl.create_default_context(cafile=str(ca) if ca.exists() else None)
        return cls(server.rstrip("/"), token or "", context)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {}


def namespace_default() -> str:
    path = SERVICE_ACCOUNT / "namespace"
    return os.environ.get("POD_NAMESPACE") or (path.read_text().strip() if path.exists() else "default")


def create_once(api: KubeApi, namespace: str, manifest: dict[str, Any], say: Callable[[str], None]) -> None:
    """Create the RayJob; if this month's already exists, say so (the caller waits for that one)."""
    name = manifest["metadata"]["name"]
    status, answer = api.request("POST", RAYJOBS.format(namespace=namespace), manifest)
    if status in (200, 201):
        say(f"created RayJob {namespace}/{name}")
    elif status == 409:
        say(f"RayJob {namespace}/{name} already exists: not starting a second run for this month; waiting for it")
    else:
        raise MonthlyError(f"cannot create RayJob {namespace}/{name}: HTTP {status} {answer.get('message', '')}".strip())


def wait(api: KubeApi, namespace: str, name: str, poll_s: float, timeout_s: float, say: Callable[[str], None]) -> dict[str, Any]:
    """Poll the RayJob until its deployment is Complete or Failed; returns its status."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        status, answer = api.request("GET", RAYJOBS.format(namespace=namespace) + f"/{name}")
        if status == 404:
            raise MonthlyError(f"RayJob {namespace}/{name} disappeared while waiting for it")
        if status != 200:
            say(f"cannot read RayJob {namespace}/{name}: HTTP {status}; retrying")
        else:
            job = answer.get("status") or {}
            seen = (job.get("jobDeploymentStatus"), job.get("jobStatus"))
            if seen != last:
                say(f"RayJob {name}: deployment {seen[0] or 'pending'}, job {seen[1] or 'pending'}")
                last = seen
            if job.get("jobDeploymentStatus") in FINISHED:
                return job
        if time.monotonic() > deadline:
            raise MonthlyError(f"RayJob {namespace}/{name} did not finish within {timeout_s:.0f} s")
        time.sleep(poll_s)


def run_monthly(template_path: str, schema: str, month: str, namespace: str, api: KubeApi, poll_s: float, timeout_s: float,
                say: Callable[[str], None] = print) -> int:
    name = job_name(schema, month)
    values = {**os.environ, "MONTH": month, "NAME": name, "SCHEMA": schema}
    if "INPUT_TEMPLATE" in values:  # e.g. s3://records/${MONTH}/
        try:
            values["INPUT"] = string.Template(values["INPUT_TEMPLATE"]).substitute(MONTH=month)
        except (KeyError, ValueError) as exc:
            raise MonthlyError(f"INPUT_TEMPLATE {values['INPUT_TEMPLATE']!r}: only ${{MONTH}} may be used ({exc})") from None
    manifest = render(Path(template_path).read_text(), values)
    create_once(api, namespace, manifest, say)
    job = wait(api, namespace, name, poll_s, timeout_s, say)
    ok = job.get("jobStatus") == SUCCEEDED
    say(f"RayJob {name} {'succeeded' if ok else 'failed'}: {job.get('message') or job.get('jobStatus')}")
    return 0 if ok else 1


def main(args) -> int:
    now = dt.datetime.now(dt.timezone.utc).date()
    month = args.month or month_of(now, args.month_offset)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise MonthlyError(f"month {month!r} is not YYYY-MM")
    api = KubeApi.from_environment(args.api_server)
    return run_monthly(args.template, args.schema, month, args.namespace or namespace_default(), api, args.poll_seconds, args.timeout,
                       say=lambda line: print(line, flush=True, file=sys.stdout))
