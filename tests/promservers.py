"""Real Prometheus and Pushgateway (Debian packages) on free loopback ports, for the metrics tests.

`make test` installs them (`apt-get install prometheus prometheus-pushgateway`) when they
are missing; a test that needs them fails, never skips, if they are not there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from s3server import free_port

BINARIES = ("prometheus", "prometheus-pushgateway", "promtool")


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    assert path, f"{name} is not installed: run `make install` (it installs the Debian packages prometheus and prometheus-pushgateway)"
    return path


def get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def wait_ready(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            get(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} never answered: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
            time.sleep(0.2)


@contextmanager
def server(args: list[str], ready_url: str):
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(ready_url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def pushgateway():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Debian's build persists to /var/lib/prometheus by default: keep each test's gateway in memory.
    with server([binary("prometheus-pushgateway"), f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="], f"{url}/-/ready"):
        yield url


def samples(exposition: str, name: str, **labels: str) -> list[float]:
    """Values of the samples called `name` whose labels include `labels`, from a /metrics text."""
    from prometheus_client.parser import text_string_to_metric_families

    return [
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


@contextmanager
def prometheus(config_dir: Path, scrape_target: str, rule_files: list[str]):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = config_dir / "prometheus.yml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": rule_files,
        "scrape_configs": [{"job_name": "pushgateway", "honor_labels": True, "static_configs": [{"targets": [scrape_target]}]}],
    }))
    args = [binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={config_dir / 'data'}", f"--web.listen-address=127.0.0.1:{port}"]
    with server(args, f"{url}/-/ready"):
        yield url


def query(prometheus_url: str, expr: str) -> dict:
    answer = json.loads(get(f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
    assert answer["status"] == "success", answer
    return answer["data"]
