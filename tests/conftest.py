import sys
from pathlib import Path

import pytest

# Modules whose tests load the real model in vLLM: they run one after another on one pytest-xdist worker (two
# engines on two cores would only slow each other down) while the other worker runs the unit and stand-in tests.
REAL_MODEL_MODULES = {f"tests/e2e/{name}.py" for name in (
    "test_run", "test_long_documents", "test_synth_run_eval", "test_hostile_input", "test_cluster", "test_finetune_real_model",
    "test_calibrate_real_model")}


def pytest_xdist_make_scheduler(config, log):
    """Scope scheduling where the real-model modules are one scope and every other test its own."""
    from xdist.scheduler import LoadScopeScheduling

    class RealModelTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "real-model" if nodeid.split("::", 1)[0] in REAL_MODEL_MODULES else nodeid

    return RealModelTogether(config, log)


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "e2e"))


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on loopback (its URL). Nothing of it is put in this process's environment: code under test
    reaches it through `s3_fs`, a child process through `s3_env`."""
    from s3server import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def s3_fs(s3_endpoint):
    """The product's filesystem configured for the test endpoint, credentials included."""
    from fieldmill import storage
    from s3server import settings

    return storage.Filesystem(settings(s3_endpoint))


@pytest.fixture(scope="session")
def s3_env(s3_endpoint):
    """The environment a child process (the CLI) reaches the test endpoint with, as a user's shell would hold it."""
    from s3server import CREDENTIALS

    return {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}
