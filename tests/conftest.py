import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "e2e"))


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on loopback, with test credentials in the environment of this process and its children."""
    from s3server import CREDENTIALS, moto_server

    saved = {k: os.environ.get(k) for k in [*CREDENTIALS, "AWS_ENDPOINT_URL"]}
    with moto_server() as endpoint:
        os.environ.update(CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        from fieldmill import storage

        storage.s3_client.cache_clear()
        try:
            yield endpoint
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            storage.s3_client.cache_clear()
