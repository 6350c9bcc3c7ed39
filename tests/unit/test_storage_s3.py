import pytest

from fieldmill import storage
from s3server import client

pytestmark = pytest.mark.s3


def test_list_read_write_through_a_real_endpoint(s3_endpoint):
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="unit")
    for i in range(1005):  # more than one page of listing
        s3.put_object(Bucket="unit", Key=f"in/p{i:04d}.txt", Body=b"x" * (i % 7))
    s3.put_object(Bucket="unit", Key="in/sub/name with space #1.txt", Body=b"hello")
    infos = list(storage.list_objects("s3://unit/in"))
    assert len(infos) == 1006 and infos[-1].key == "sub/name with space #1.txt"
    assert storage.read_bytes(infos[-1].uri) == b"hello"
    storage.write_bytes("s3://unit/out/run_id=r/part-1.parquet", b"data")
    assert storage.exists("s3://unit/out/run_id=r/part-1.parquet")
    assert storage.list_names("s3://unit/out/run_id=r") == ["part-1.parquet"]
    assert storage.list_folders("s3://unit/out") == ["run_id=r"]


def test_missing_bucket_is_missing_input(s3_endpoint):
    with pytest.raises(storage.MissingInput):
        list(storage.list_objects("s3://no-such-bucket/x/"))
