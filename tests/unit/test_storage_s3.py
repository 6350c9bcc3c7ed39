import pytest

from fieldmill import storage
from s3server import client

pytestmark = pytest.mark.s3


def test_list_read_write_through_a_real_endpoint(s3_endpoint, s3_fs):
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="unit")
    for i in range(1005):  # more than one page of listing
        s3.put_object(Bucket="unit", Key=f"in/p{i:04d}.txt", Body=b"x" * (i % 7))
    s3.put_object(Bucket="unit", Key="in/sub/name with space #1.txt", Body=b"hello")
    infos = list(s3_fs.list_objects("s3://unit/in"))
    assert len(infos) == 1006 and infos[-1].key == "sub/name with space #1.txt"
    assert s3_fs.read_bytes(infos[-1].uri) == b"hello"
    s3_fs.write_bytes("s3://unit/out/run_id=r/part-1.parquet", b"data")
    assert s3_fs.exists("s3://unit/out/run_id=r/part-1.parquet")
    assert s3_fs.list_names("s3://unit/out/run_id=r") == ["part-1.parquet"]
    assert s3_fs.list_folders("s3://unit/out") == ["run_id=r"]


def test_missing_bucket_is_missing_input(s3_fs):
    with pytest.raises(storage.MissingInput):
        list(s3_fs.list_objects("s3://no-such-bucket/x/"))


def test_conditional_writes_and_pinned_reads_on_s3(s3_endpoint, s3_fs):
    """Leases and ETag-pinned reads rest on S3's own conditions (If-None-Match, If-Match)."""
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="cond")
    s3_fs.write_if("s3://cond/run/_lease", b"one", None)
    with pytest.raises(storage.Changed):
        s3_fs.write_if("s3://cond/run/_lease", b"two", None)  # exists already
    data, version = s3_fs.read_versioned("s3://cond/run/_lease")
    written = s3_fs.write_if("s3://cond/run/_lease", b"three", version)
    data, now, age = s3_fs.read_with_age("s3://cond/run/_lease")
    assert (data, now) == (b"three", written) and 0 <= age < 30  # the write's own answer names the new version; age by S3's clock
    with pytest.raises(storage.Changed):
        s3_fs.write_if("s3://cond/run/_lease", b"four", version)  # someone wrote since
    s3.put_object(Bucket="cond", Key="docs/a.txt", Body=b"first")
    (info,) = s3_fs.list_objects("s3://cond/docs")
    s3.put_object(Bucket="cond", Key="docs/a.txt", Body=b"second")
    with pytest.raises(storage.Changed):
        s3_fs.read_bytes(info.uri, etag=info.etag)
    s3_fs.delete("s3://cond/run/_lease")
    assert s3_fs.read_versioned("s3://cond/run/_lease") is None


def test_parquet_columns_travel_alone(s3_endpoint, s3_fs):
    """Reading two small columns of a part fetches the footer and those chunks, not the raw output beside them."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from fieldmill.run.store import _read_parquet

    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="cols")
    import os

    table = pa.table({"doc_uri": [f"/d/{i}" for i in range(2000)], "status": ["compliant"] * 2000,
                      "raw_output": [os.urandom(400).hex() for _ in range(2000)]})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    s3.put_object(Bucket="cols", Key="p.parquet", Body=sink.getvalue())
    fetched = []

    class Counting(storage.Filesystem):
        def _read_s3_range(self, *args):
            fetched.append(super()._read_s3_range(*args))
            return fetched[-1]

    read = _read_parquet(Counting(s3_fs.s3), "s3://cols/p.parquet", ["doc_uri", "status", "not_there"])
    assert read.column_names == ["doc_uri", "status"] and read.num_rows == 2000
    assert sum(map(len, fetched)) < len(sink.getvalue()) / 5


def test_commands_on_s3_without_credentials_say_so_in_one_line(s3_endpoint, tmp_path):
    """`results` lists run folders on S3: without credentials it is exit 4 and one line, never a traceback."""
    import os
    import subprocess
    import sys

    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="nocreds")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": s3_endpoint, "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_DEFAULT_REGION": "us-east-1"})
    out = subprocess.run([sys.executable, "-m", "fieldmill.cli", "results", "s3://nocreds/out/"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 4, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1 and "credentials" in out.stderr


def test_s3_settings_come_from_the_environment_and_travel_to_workers_without_credentials():
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_MAX_ATTEMPTS": "3",
           "FIELDMILL_S3_READ_TIMEOUT": "bad", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "secret"}
    settings = storage.S3Settings.from_env(env)
    assert (settings.endpoint_url, settings.region, settings.max_attempts, settings.read_timeout_s) == ("http://127.0.0.1:9000", "eu-west-1", 3, 60.0)
    given = storage.S3Settings(endpoint_url="http://minio:9000", access_key_id="AKIA", secret_access_key="secret")
    assert "secret" not in repr(given) and "AKIA" not in repr(given)
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(given.as_env())
    assert storage.S3Settings.from_env(given.as_env()) == storage.S3Settings(endpoint_url="http://minio:9000")


def test_a_configured_endpoint_is_used_inside_the_block_and_the_previous_one_after(s3_endpoint, s3_fs):
    """`storage.using` points this process's own filesystem at an endpoint without touching os.environ."""
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="configured")
    s3.put_object(Bucket="configured", Key="a.txt", Body=b"a")
    nowhere = storage.S3Settings(endpoint_url="http://127.0.0.1:9", max_attempts=1, connect_timeout_s=0.5)
    with storage.using(s3_fs.s3):
        assert storage.read_bytes("s3://configured/a.txt") == b"a"
        with storage.using(nowhere):
            assert storage.s3_settings() is nowhere
            with pytest.raises(storage.StorageError):
                storage.read_bytes("s3://configured/a.txt")
            assert s3_fs.read_bytes("s3://configured/a.txt") == b"a"  # a filesystem with settings of its own keeps them
        assert storage.read_bytes("s3://configured/a.txt") == b"a"
    assert storage.s3_settings() == storage.S3Settings.from_env()


def test_the_store_and_the_reader_work_through_the_filesystem_they_are_given(s3_endpoint, s3_fs, tmp_path):
    """No endpoint in the environment, none configured for the process: a run's store, its manifest, the reader and
    the view all reach the test endpoint through the `Filesystem` passed to them."""
    import json

    from fieldmill.document import DOCUMENT, Document
    from fieldmill.documents import decode_batch
    from fieldmill.extract.steps import failed_document
    from fieldmill.run.executor import expand_chunk
    from fieldmill.run.rows import row_schema
    from fieldmill.run.store import RunConstants, RunStore, doc_digest
    from fieldmill.schema.load import load_schema

    SCHEMA = load_schema("invoice")

    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="given")
    s3.put_object(Bucket="given", Key="in/a.txt", Body=b"Invoice INV-7\nTotal 12.00 EUR\n")
    assert storage.PROCESS.settings().endpoint_url != s3_endpoint
    (info,) = s3_fs.list_objects("s3://given/in/")
    store = RunStore("s3://given/out/", s3_fs)
    run = store.run("r1")
    with run.lease() as lease:
        ((chunk, pending),) = run.write_manifest_chunks("a1", [{"uri": info.uri, "key": info.key, "size": info.size, "etag": info.etag,
                                                               "done": False, "tries": 0}], chunk_size=10)
        (row,) = expand_chunk({"chunk": chunk}, fs=s3_fs)
        (read,) = decode_batch({DOCUMENT: [row[DOCUMENT]]}, max_doc_bytes=1000, fs=s3_fs)[DOCUMENT]
        document = Document.from_bytes(read)
        assert document.text.startswith("Invoice INV-7") and pending == 1
        writer = run.writer(row_schema(SCHEMA.hardened), RunConstants("r1", SCHEMA.name, SCHEMA.hash, "m1"), lease=lease)
        writer.add(failed_document(document, "extracting", RuntimeError("no engine in this test")))
        writer.flush()
        assert run.complete({"run_id": "r1"}, lease)
    assert store.run_ids() == ["r1"] and json.loads(s3_fs.read_bytes("s3://given/out/run_id=r1/_SUCCESS"))["run_id"] == "r1"
    history = store.history(SCHEMA.hash, "m1")
    assert doc_digest(info.uri, info.etag) in {*history.done, *history.tries} and [r["doc_uri"] for r in run.rows(["doc_uri"])] == [info.uri]
    assert "_lease" not in s3_fs.list_names("s3://given/out/run_id=r1")
