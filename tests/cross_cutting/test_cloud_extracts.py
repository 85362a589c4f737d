"""Extract sets on S3: the ``s3://`` source the README shows, read through fsspec and s3fs.

moto's S3-compatible server runs in-process on a free loopback port; the tests point the
standard AWS variables at it (dummy keys, ``AWS_ENDPOINT_URL``) exactly as a user points the
pipeline at MinIO, Ceph or any other S3-compatible store, and compare what is read from the
bucket with the same set read from local disk.

Needs the ``s3`` extra (s3fs) and moto[server], both in the ``test`` extra.  Without them the
tests skip with the reason, except under CI (CI=true), where they must run and fail instead.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from receivables.errors import InputRejected
from receivables.extracts import read_extract_set
from receivables.mappings import load_mapping
from receivables.synthetic import generate_extract_set
from tests.conftest import IN_CI, VALID_AS_OF, VALID_SET, write_set

BUCKET = "ar-extracts"
#: read, accepted, quarantined per extract of VALID_SET (3 customers, 6 open items, 3 payments, 1 dispute)
VALID_READ = {"customers": 3, "open_items": 6, "payments": 3, "disputes": 1}


def _missing_extra() -> str | None:
    try:
        import s3fs  # noqa: F401
        from moto.server import ThreadedMotoServer  # noqa: F401
    except ImportError as exc:
        return f"the S3 tests need s3fs and moto[server] (pip install -e '.[test]'): {exc}"
    return None


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for this module's tests; yields its URL."""
    problem = _missing_extra()
    if problem:
        if IN_CI:
            pytest.fail(problem + "; CI must run the S3 tests")
        pytest.skip(problem)
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[fsspec.AbstractFileSystem]:
    """The environment a user sets for an S3-compatible store, and an empty bucket in it.

    Credentials and endpoint come from the standard AWS variables only (botocore reads them);
    the developer's own ~/.aws files and profile are kept out."""
    import s3fs

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    # fsspec caches filesystems by their arguments, not by the environment: a cached one would
    # still talk to another test's endpoint
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.mkdir(BUCKET)
    try:
        yield fs
    finally:
        fs.rm(BUCKET, recursive=True)
        s3fs.S3FileSystem.clear_instance_cache()


def _upload(fs: fsspec.AbstractFileSystem, folder: Path, prefix: str) -> str:
    """Upload the extract files of ``folder`` (not its subfolders) under ``prefix``; the URL."""
    for path in sorted(folder.iterdir()):
        if path.is_file():
            fs.pipe(f"{BUCKET}/{prefix}/{path.name}", path.read_bytes())
    return f"s3://{BUCKET}/{prefix}"


def _generated_set(folder: Path) -> Path:
    generate_extract_set(folder, customers=8, seed=7)
    return folder


@pytest.mark.parametrize("kind", ["valid_set", "generated"])
def test_read_extract_set_from_s3_equals_local(kind: str, s3, tmp_path: Path) -> None:
    local = write_set(tmp_path / "local", VALID_SET) if kind == "valid_set" else _generated_set(tmp_path / "local")
    url = _upload(s3, local, f"{kind}/2026-10-31")
    mapping = load_mapping("canonical")

    from_disk = read_extract_set(str(local), mapping)
    from_s3 = read_extract_set(url, mapping)

    assert set(from_s3.sources) == set(from_disk.sources)
    assert from_s3.input_hashes() == from_disk.input_hashes()
    for name, frame in from_disk.frames.items():
        assert len(from_s3.frames[name]) == len(frame), name
        assert from_s3.frames[name].equals(frame), name
    assert len(from_s3.row_errors) == len(from_disk.row_errors)
    for name, source in from_s3.sources.items():
        assert source.url == f"{url}/{source.name}"
        assert source.rows == from_disk.sources[name].rows
    if kind == "valid_set":
        assert {name: s.rows for name, s in from_s3.sources.items()} == VALID_READ


_COUNTS = re.compile(r"^\W*(\w+)\W+(\S+)\W+(\d+)\W+(\d+)\W+(\d+)\W*$")


def _validation_counts(output: str) -> dict[str, tuple[str, int, int, int]]:
    """extract -> (file, read, accepted, quarantined), from the table ``validate`` prints."""
    counts = {}
    for line in output.splitlines():
        m = _COUNTS.match(line)
        if m and m.group(1) in VALID_READ | {"promises": 0, "cleared_items": 0, "fx_rates": 0}:
            counts[m.group(1)] = (m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5)))
    return counts


def test_cli_validate_reads_s3_like_local_disk(s3, cli, valid_set: Path, workdir: Path) -> None:
    url = _upload(s3, valid_set, "nightly/2026-10-31")

    local = cli("validate", "--extracts", str(valid_set), "--as-of", VALID_AS_OF)
    remote = cli("validate", "--extracts", url, "--as-of", VALID_AS_OF)

    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    counts = _validation_counts(remote.output)
    assert {name: c[1] for name, c in counts.items() if c[1]} == VALID_READ, remote.output
    assert counts == _validation_counts(local.output)
    assert [p.name for p in workdir.iterdir()] == [valid_set.name], "validate writes nothing"


@pytest.mark.parametrize(
    "url",
    ["s3://no-such-bucket/2026-10-31", f"s3://{BUCKET}/no/such/prefix"],
    ids=["missing-bucket", "missing-prefix"],
)
def test_missing_bucket_or_prefix_is_one_paragraph_exit_2(url: str, s3, cli, workdir: Path) -> None:
    result = cli("validate", "--extracts", url, "--as-of", VALID_AS_OF)

    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert url in text
    assert "Traceback" not in text and "botocore" not in text
    assert "\n\n" not in text and text.count("\n") <= 3, text  # one paragraph (soft-wrapped at most)


def test_without_s3fs_the_message_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain install lacks s3fs: the read is refused with the URL and the missing package, not
    a traceback.  (Runs without the extra too: s3fs is hidden from the import system.)"""
    registry = importlib.import_module("fsspec.registry")  # the module; fsspec.registry is its read-only view

    monkeypatch.setitem(sys.modules, "s3fs", None)
    monkeypatch.delitem(registry._registry, "s3", raising=False)
    url = f"s3://{BUCKET}/2026-10-31"
    with pytest.raises(InputRejected) as caught:
        read_extract_set(url, load_mapping("canonical"))
    assert url in str(caught.value)
    assert "s3fs" in str(caught.value)
