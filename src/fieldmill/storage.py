"""Local folders and S3 prefixes behind one small interface.

S3 goes through boto3 with the standard credential chain, `standard` retry mode and
paginated listing; the endpoint comes from `AWS_ENDPOINT_URL` like every AWS SDK, so
tests and S3-compatible stores work without flags. botocore retries throttling (503
SlowDown), 5xx, dropped connections and timeouts of every request; a body that breaks
off while it streams is past botocore's retry, so `read_bytes` fetches it again itself.
Writes are whole or absent: a local file is written under a temporary name and
renamed; an S3 object is one PUT.

A `Filesystem` is where the product reads and writes; how it reaches S3 is one value, `S3Settings`
(endpoint, region, profile, attempts, timeouts, and credentials only when given). The run store,
the reader and a run take a `Filesystem` as an argument, as pyarrow's and fsspec's users do:
`RunStore(output, Filesystem(S3Settings(endpoint_url=...)))` works against that endpoint whatever
the environment says. Without one they use `PROCESS`, whose settings are read at each call: from
the environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_PROFILE`, `AWS_MAX_ATTEMPTS` (default 10,
every AWS SDK reads it), `FIELDMILL_S3_CONNECT_TIMEOUT` and `FIELDMILL_S3_READ_TIMEOUT` (seconds,
default 10 and 60)), or what `configure(settings)` / `with using(settings):` set for this process.
The module's `list_objects`, `read_bytes` and `write_bytes` are `PROCESS`'s methods.
It is fieldmill's own rather than a pyarrow or fsspec filesystem because the store's lease needs
conditional writes (S3's If-None-Match and If-Match) and the reader reads pinned to a listed ETag,
which neither exposes.
`S3Settings.as_env()` is what a run hands its Ray workers for `PROCESS` (never credentials:
workers use the AWS chain themselves).
"""

from __future__ import annotations

import io
import os
import random
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

S3_RETRY_ATTEMPTS = 10
# Longest pause between two attempts of a broken download (botocore's own cap is 20 s).
_MAX_BACKOFF_S = 20.0



def printable(text: str) -> str:
    """`text` as valid UTF-8: a local file name's undecodable bytes (surrogate escapes) or a lone surrogate
    become backslash escapes, so the name can be written to Parquet and JSON and compared across runs."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")
    return text

class StorageError(RuntimeError):
    """The store cannot be reached or refuses the request after retries."""


class MissingInput(StorageError):
    pass


class Changed(StorageError):
    """The object is not the version that was listed (its ETag changed), or a conditional write lost its race."""


class NoCredentials(StorageError):
    pass


@dataclass(frozen=True)
class ObjectInfo:
    uri: str
    key: str  # relative to the listed prefix, '/'-separated
    size: int
    etag: str
    modified: float = 0.0  # when the store wrote it, by the store's clock (S3 Last-Modified, the file's mtime)


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, key


def join(base: str, *parts: str) -> str:
    out = base
    for part in parts:
        out = out.rstrip("/") + "/" + part.lstrip("/")
    return out


def normalise_root(uri: str) -> str:
    """A prefix in the form the rest of the product compares: absolute local path or s3://bucket/prefix."""
    if is_s3(uri):
        return uri
    return str(Path(uri).expanduser().resolve())


@dataclass(frozen=True)
class S3Settings:
    """How this process reaches S3. Credentials come from the standard AWS chain unless given here."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    max_attempts: int = S3_RETRY_ATTEMPTS  # per request, retries included
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> S3Settings:
        env = os.environ if env is None else env

        def number(name: str, default: float, kind=float):
            try:
                return kind(env[name]) if env.get(name) else default
            except ValueError:
                return default

        return cls(endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
                   region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None, profile=env.get("AWS_PROFILE") or None,
                   max_attempts=max(1, number("AWS_MAX_ATTEMPTS", S3_RETRY_ATTEMPTS, int)),
                   connect_timeout_s=number("FIELDMILL_S3_CONNECT_TIMEOUT", 10.0), read_timeout_s=number("FIELDMILL_S3_READ_TIMEOUT", 60.0))

    def as_env(self) -> dict[str, str]:
        """These settings as the environment of another process (a Ray worker): credentials never travel."""
        env = {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, "AWS_PROFILE": self.profile,
               "AWS_MAX_ATTEMPTS": str(self.max_attempts), "FIELDMILL_S3_CONNECT_TIMEOUT": str(self.connect_timeout_s),
               "FIELDMILL_S3_READ_TIMEOUT": str(self.read_timeout_s)}
        return {k: v for k, v in env.items() if v}


_configured: S3Settings | None = None


def configure(settings: S3Settings | None) -> None:
    """Reach S3 with `settings` in this process from now on (None: from the environment again)."""
    global _configured
    _configured = settings


@contextmanager
def using(settings: S3Settings) -> Iterator[S3Settings]:
    """Reach S3 with `settings` inside the block, then as before."""
    previous = _configured
    configure(settings)
    try:
        yield settings
    finally:
        configure(previous)


def s3_settings() -> S3Settings:
    """The settings this process reaches S3 with now."""
    return _configured if _configured is not None else S3Settings.from_env()


def s3_client():
    return _client(s3_settings())


@lru_cache(maxsize=8)
def _client(settings: S3Settings):
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
                    connect_timeout=settings.connect_timeout_s, read_timeout=settings.read_timeout_s)
    session = boto3.session.Session(profile_name=settings.profile, aws_access_key_id=settings.access_key_id,
                                    aws_secret_access_key=settings.secret_access_key, region_name=settings.region)
    return session.client("s3", config=config, endpoint_url=settings.endpoint_url)


def _s3_errors():
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    return BotoCoreError, ClientError, (NoCredentialsError, PartialCredentialsError)


@contextmanager
def _s3_request(action: str, uri: str, listing_input: bool = False):
    """Translate botocore's errors (after its own retries) into the product's; with `listing_input`, a missing bucket
    is missing input (exit 3), not a storage error."""
    botocore_error, client_error, credential_errors = _s3_errors()
    try:
        yield
    except credential_errors as exc:
        raise NoCredentials(f"no AWS credentials for {uri}: {exc}") from None
    except client_error as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
            raise Changed(f"cannot {action} {uri}: the object is not the expected version ({code})") from None
        if listing_input and code in ("NoSuchBucket", "404"):
            raise MissingInput(f"cannot {action} {uri}: bucket {split_s3(uri)[0]} does not exist") from None
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            raise NoCredentials(f"cannot {action} {uri}: access refused ({code})") from None
        raise StorageError(f"cannot {action} {uri}: {exc}") from None
    except botocore_error as exc:
        raise StorageError(f"cannot {action} {uri}: {exc}") from None


def _list_local(root: str) -> Iterator[ObjectInfo]:
    base = Path(root)
    if not base.exists():
        raise MissingInput(f"input {root} does not exist")
    if base.is_file():
        stat = base.stat()
        yield ObjectInfo(str(base), base.name, stat.st_size, local_etag(base), stat.st_mtime_ns / 1e9)
        return
    for directory, subdirs, files in os.walk(base):
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory, name)
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished or a dangling link: it is not a document
            if not path.is_file():
                continue
            yield ObjectInfo(str(path), path.relative_to(base).as_posix(), stat.st_size, f"{stat.st_mtime_ns:x}-{stat.st_size:x}",  # = local_etag
                             stat.st_mtime_ns / 1e9)


def local_etag(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


def _stream_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import ConnectionClosedError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError
    from urllib3.exceptions import HTTPError

    return ConnectionClosedError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError, HTTPError, ConnectionError


def _local_version(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Filesystem:
    """Where the product reads and writes: local paths, and s3:// URIs reached with `s3` (None: this
    process's settings at each call, see `s3_settings`). A value, like pyarrow's filesystems: the run store,
    the reader and the run's Ray tasks take one, so a caller (a test) points them at an endpoint without
    touching the environment. It pickles with its settings, credentials included when they were given."""

    s3: S3Settings | None = None

    def settings(self) -> S3Settings:
        return self.s3 if self.s3 is not None else s3_settings()

    def client(self):
        return _client(self.settings())

    def list_objects(self, root: str) -> Iterator[ObjectInfo]:
        """Every object under `root`, in key order, streamed."""
        if is_s3(root):
            yield from self._list_s3(root)
        else:
            yield from _list_local(root)

    def _list_s3(self, root: str) -> Iterator[ObjectInfo]:
        bucket, prefix = split_s3(root)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        with _s3_request("list", root, listing_input=True):
            for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    key = item["Key"]
                    if key.endswith("/"):
                        continue  # a folder marker
                    yield ObjectInfo(f"s3://{bucket}/{key}", key[len(prefix) :], item["Size"], item["ETag"].strip('"'), item["LastModified"].timestamp())

    def read_bytes(self, uri: str, max_bytes: int | None = None, etag: str | None = None) -> bytes:
        """The object's bytes (at most `max_bytes` + 1, so a caller can tell it was longer).

        With `etag`, only the version that was listed: S3 answers `If-Match`, a local file's
        ETag (modification time and size) is checked before and after reading; a different
        version raises `Changed`.
        """
        if is_s3(uri):
            return self._read_s3(uri, None if max_bytes is None else max_bytes + 1, etag)
        try:
            if etag is not None and local_etag(Path(uri)) != etag:
                raise Changed(f"{uri} changed after it was listed")
            with open(uri, "rb") as handle:
                data = handle.read(max_bytes + 1 if max_bytes is not None else -1)
        except FileNotFoundError:
            raise MissingInput(f"{uri} does not exist") from None
        if etag is not None and local_etag(Path(uri)) != etag:
            raise Changed(f"{uri} changed while it was read")
        return data

    def _read_s3(self, uri: str, amount: int | None, etag: str | None = None) -> bytes:
        bucket, key = split_s3(uri)
        return self._get_s3(uri, bucket, key, amount, IfMatch=f'"{etag}"') if etag else self._get_s3(uri, bucket, key, amount)

    def _get_s3(self, uri: str, bucket: str, key: str, amount: int | None, **request) -> bytes:
        """GET an object (or a range of it) and read its body; a body that breaks off is fetched again."""
        broken = _stream_errors()
        attempts = self.settings().max_attempts
        for attempt in range(1, attempts + 1):
            with _s3_request("read", uri):
                body = self.client().get_object(Bucket=bucket, Key=key, **request)["Body"]
                try:
                    return body.read(amount)
                except broken as exc:
                    if attempt == attempts:
                        raise StorageError(f"cannot read {uri}: the download broke off {attempts} times: {exc}") from None
                finally:
                    body.close()
            # Full jitter, as botocore's standard mode does between attempts.
            time.sleep(random.uniform(0, min(_MAX_BACKOFF_S, 0.5 * 2**attempt)))
        raise AssertionError("unreachable")

    def _read_s3_range(self, uri: str, bucket: str, key: str, first: int, last: int) -> bytes:
        return self._get_s3(uri, bucket, key, None, Range=f"bytes={first}-{last}")

    def open_object(self, uri: str):
        """A seekable binary file for reading `uri` (ranged GETs on S3)."""
        if is_s3(uri):
            return RangedObject(uri, self)  # unbuffered: the Parquet reader asks for exactly the byte ranges it needs
        try:
            return open(uri, "rb")
        except OSError as exc:
            raise StorageError(f"cannot read {uri}: {exc}") from None

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write the whole object or nothing."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            with _s3_request("write", uri):
                self.client().put_object(Bucket=bucket, Key=key, Body=data)
            return
        path = Path(uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise StorageError(f"cannot write {uri}: {exc}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise StorageError(f"cannot write {uri}: {exc}") from None
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def read_versioned(self, uri: str) -> tuple[bytes, str] | None:
        """The object's bytes and a version tag for `write_if`, or None when it does not exist."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            _, client_error, _ = _s3_errors()
            try:
                with _s3_request("read", uri):
                    answer = self.client().get_object(Bucket=bucket, Key=key)
                    return answer["Body"].read(), answer["ETag"].strip('"')
            except StorageError as exc:
                if "NoSuchKey" in str(exc) or "404" in str(exc):
                    return None
                raise
        path = Path(uri)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {uri}: {exc}") from None
        return data, _local_version(data)

    def read_with_age(self, uri: str) -> tuple[bytes, str, float] | None:
        """`read_versioned` plus the object's age by the store's own clock (S3: the answer's Date minus
        Last-Modified; locally: now minus mtime), so two machines' clocks never meet; None when absent."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            try:
                with _s3_request("read", uri):
                    answer = self.client().get_object(Bucket=bucket, Key=key)
                    data = answer["Body"].read()
            except StorageError as exc:
                if "NoSuchKey" in str(exc) or "404" in str(exc):
                    return None
                raise
            from email.utils import parsedate_to_datetime

            said = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
            now = parsedate_to_datetime(said) if said else answer["LastModified"]
            return data, answer["ETag"].strip('"'), max(0.0, (now - answer["LastModified"]).total_seconds())
        path = Path(uri)
        try:
            data = path.read_bytes()
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {uri}: {exc}") from None
        return data, _local_version(data), max(0.0, age)

    def write_if(self, uri: str, data: bytes, version: str | None) -> str:
        """Write only if the object is still at `version` (None: only if it does not exist); else `Changed`.
        Returns the new version (from the write's own answer: no read after it that could fail).

        S3 makes the check itself (`If-None-Match: *`, `If-Match`); locally an exclusive lock on
        the folder serialises writers (no lock file is left beside the object).
        """
        if is_s3(uri):
            bucket, key = split_s3(uri)
            condition = {"IfNoneMatch": "*"} if version is None else {"IfMatch": f'"{version}"'}
            with _s3_request("write", uri):
                answer = self.client().put_object(Bucket=bucket, Key=key, Body=data, **condition)
            return answer["ETag"].strip('"')
        import fcntl

        path = Path(uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fcntl.flock(folder, fcntl.LOCK_EX)
                current = self.read_versioned(uri)
                if (current is None) != (version is None) or (current is not None and current[1] != version):
                    raise Changed(f"cannot write {uri}: it is not the expected version")
                self.write_bytes(uri, data)
                return _local_version(data)
            finally:
                os.close(folder)  # closing the descriptor releases the lock
        except OSError as exc:
            raise StorageError(f"cannot write {uri}: {exc}") from None

    def delete(self, uri: str) -> None:
        """Remove an object (absent is fine)."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            with _s3_request("delete", uri):
                self.client().delete_object(Bucket=bucket, Key=key)
            return
        try:
            Path(uri).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {uri}: {exc}") from None

    def exists(self, uri: str) -> bool:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            _, client_error, _ = _s3_errors()
            try:
                self.client().head_object(Bucket=bucket, Key=key)
                return True
            except client_error as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise StorageError(f"cannot check {uri}: {exc}") from None
        return Path(uri).exists()

    def list_names(self, prefix_uri: str) -> list[str]:
        """Names of the objects directly under a folder (no recursion); empty when absent."""
        if is_s3(prefix_uri):
            return [info.key for info in self._list_s3(prefix_uri) if "/" not in info.key]
        path = Path(prefix_uri)
        if not path.is_dir():
            return []
        return sorted(p.name for p in path.iterdir() if p.is_file())

    def list_modified(self, prefix_uri: str) -> dict[str, float]:
        """{name: when the store wrote it, by the store's clock} of the objects directly under a folder."""
        if is_s3(prefix_uri):
            return {info.key: info.modified for info in self._list_s3(prefix_uri) if "/" not in info.key}
        path = Path(prefix_uri)
        if not path.is_dir():
            return {}
        return {p.name: p.stat().st_mtime_ns / 1e9 for p in sorted(path.iterdir()) if p.is_file()}

    def list_folders(self, prefix_uri: str) -> list[str]:
        """Names of the sub-folders directly under a folder."""
        if is_s3(prefix_uri):
            bucket, prefix = split_s3(prefix_uri)
            prefix = prefix.rstrip("/") + "/" if prefix else ""
            names = []
            with _s3_request("list", prefix_uri):
                for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
                    names += [p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", ())]
            return sorted(names)
        path = Path(prefix_uri)
        return sorted(p.name for p in path.iterdir() if p.is_dir()) if path.is_dir() else []


class RangedObject(io.RawIOBase):
    """An S3 object as a seekable file whose reads are ranged GETs: a Parquet reader fetches the
    footer and the column chunks it needs, not the whole object."""

    def __init__(self, uri: str, fs: Filesystem):
        super().__init__()
        self.uri = uri
        self.fs = fs
        self.bucket, self.key = split_s3(uri)
        with _s3_request("read", uri):
            self.size = fs.client().head_object(Bucket=self.bucket, Key=self.key)["ContentLength"]
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        end = min(self.size, self.position + len(buffer))
        if end <= self.position:
            return 0
        data = self.fs._read_s3_range(self.uri, self.bucket, self.key, self.position, end - 1)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


# The process's filesystem, and its reads, writes and listing as the module's functions, for callers that carry no
# filesystem of their own (the CLI's reports, synth's corpora, a model's files); the run store and the reader take one.
PROCESS = Filesystem()
list_objects = PROCESS.list_objects
read_bytes = PROCESS.read_bytes
write_bytes = PROCESS.write_bytes


__all__ = ["Filesystem", "PROCESS", "S3Settings", "configure", "using", "s3_settings", "ObjectInfo", "list_objects", "read_bytes", "write_bytes", "join", "is_s3", "Changed"]
