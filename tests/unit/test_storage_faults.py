"""Storage through the project's fault-injecting proxy in front of a real (moto) S3 endpoint."""

from __future__ import annotations

from dataclasses import replace

import pytest

from faultproxy import Rule, fault_proxy
from fieldmill import storage
from s3server import CREDENTIALS, client

pytestmark = pytest.mark.s3


ATTEMPTS = 4


@pytest.fixture
def proxied(s3_endpoint):
    """A bucket with three objects, and `fieldmill.storage` talking to it through a fault proxy (configured, not the environment)."""
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="faults")
    for name in ("a.txt", "b.txt", "c.txt"):
        s3.put_object(Bucket="faults", Key=f"docs/{name}", Body=(name * 1000).encode())
    settings = storage.S3Settings(endpoint_url=None, region=CREDENTIALS["AWS_DEFAULT_REGION"], max_attempts=ATTEMPTS,
                                  read_timeout_s=1.5,  # a loaded machine's moto may take a second
                                  access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    with fault_proxy(s3_endpoint, hold_s=4.0) as proxy, storage.using(replace(settings, endpoint_url=proxy.url)):
        yield proxy


@pytest.mark.parametrize("fault", ["slowdown", "drop", "timeout"])
def test_listing_rides_out_each_fault(proxied, fault):
    proxied.rules.append(Rule(fault, "list", times=2))
    keys = [info.key for info in storage.list_objects("s3://faults/docs/")]
    assert keys == ["a.txt", "b.txt", "c.txt"]
    # Two faults and one answer, plus any answer that came after the client's timeout (a busy endpoint).
    assert proxied.faults[("list", fault)] == 2 and proxied.requests["list"] == 3 + proxied.abandoned["list"]


@pytest.mark.parametrize("fault", ["slowdown", "drop", "timeout", "truncate"])
def test_reads_ride_out_each_fault(proxied, fault):
    proxied.rules.append(Rule(fault, "get", key="b.txt", times=2))
    assert storage.read_bytes("s3://faults/docs/b.txt") == b"b.txt" * 1000
    assert proxied.faults[("get", fault)] == 2 and proxied.requests["get"] == 3 + proxied.abandoned["get"]


@pytest.mark.parametrize("fault", ["slowdown", "drop", "timeout"])
def test_writes_ride_out_each_fault(proxied, fault, s3_endpoint):
    proxied.rules.append(Rule(fault, "put", times=2))
    storage.write_bytes("s3://faults/out/part.parquet", b"whole")
    assert proxied.faults[("put", fault)] == 2
    assert client(s3_endpoint).get_object(Bucket="faults", Key="out/part.parquet")["Body"].read() == b"whole"


def test_a_read_that_keeps_failing_is_a_storage_error_after_the_configured_attempts(proxied):
    proxied.rules.append(Rule("truncate", "get", key="c.txt"))
    with pytest.raises(storage.StorageError, match="broke off 4 times"):
        storage.read_bytes("s3://faults/docs/c.txt")
    proxied.rules[:] = [Rule("slowdown", "get", key="c.txt")]
    with pytest.raises(storage.StorageError, match="SlowDown"):
        storage.read_bytes("s3://faults/docs/c.txt")
    assert proxied.requests["get"] == 8  # 4 attempts each, then the error


def test_a_write_that_keeps_failing_raises_and_leaves_no_object(proxied, s3_endpoint):
    proxied.rules.append(Rule("drop", "put"))
    with pytest.raises(storage.StorageError, match="cannot write"):
        storage.write_bytes("s3://faults/out/lost.parquet", b"data")
    assert "Contents" not in client(s3_endpoint).list_objects_v2(Bucket="faults", Prefix="out/lost")
    assert proxied.requests["put"] == ATTEMPTS
