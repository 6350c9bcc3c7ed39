"""A real S3 endpoint for tests: moto's HTTP server on a free loopback port."""

from __future__ import annotations

import socket
from contextlib import contextmanager

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name=CREDENTIALS["AWS_DEFAULT_REGION"])


def settings(endpoint: str):
    """`fieldmill.storage.S3Settings` for the test endpoint."""
    from fieldmill.storage import S3Settings

    return S3Settings(endpoint_url=endpoint, region=CREDENTIALS["AWS_DEFAULT_REGION"], access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
