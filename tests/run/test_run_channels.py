"""Remote channels: https:// files pinned by sha256 and s3:// objects or prefixes, fetched once.

Served from 127.0.0.1 (a plain HTTP server, the moto server): nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from loclab import cli
from loclab.exceptions import DataError
from loclab.run import ChannelFetcher, prepare_experiment
from loclab.spec import RemoteSource
from loclab.testing import write_notebook
from loclab.testing.aws import MotoServer

PAIRS = "source\ttarget\tlocale\tlabel\nHouse\tHaus\tde\t1\n"


class _Files(http.server.SimpleHTTPRequestHandler):
    hits: list[str]

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """``(base URL, served folder, requested paths)`` of an HTTP server on 127.0.0.1."""
    folder = tmp_path / "served"
    folder.mkdir()
    hits: list[str] = []
    handler = type("Files", (_Files,), {"hits": hits})

    def make(*args: object, **kwargs: object) -> _Files:
        return handler(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)  # type: ignore[arg-type]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_pinned_file_is_fetched_once_then_read_from_the_cache(server, tmp_path):
    base, folder, hits = server
    data = PAIRS.encode()
    (folder / "pairs.tsv").write_bytes(data)
    source = RemoteSource(f"{base}/pairs.tsv", _sha(data))
    cache = tmp_path / "state" / "cache" / "channels"
    first = ChannelFetcher(cache)(field="channels.data", source=source)
    assert first.read_bytes() == data and first.name == "pairs.tsv"
    assert first.is_relative_to(cache)
    again = ChannelFetcher(cache)(field="channels.data", source=source)  # a later command
    assert again == first and hits == ["/pairs.tsv"]


def test_wrong_bytes_are_refused_in_one_line_and_nothing_is_kept(server, tmp_path):
    base, folder, _ = server
    (folder / "pairs.tsv").write_bytes(PAIRS.encode())
    pinned = _sha(b"something else")
    cache = tmp_path / "state" / "cache" / "channels"
    with pytest.raises(DataError) as err:
        ChannelFetcher(cache)("channels.data", RemoteSource(f"{base}/pairs.tsv", pinned))
    line = str(err.value)
    assert "\n" not in line
    assert f"has sha256 {_sha(PAIRS.encode())}, not the pinned {pinned}" in line
    assert "pin the new sha256" in line
    assert not (tmp_path / "state").exists()
    with pytest.raises(DataError, match=r"refused by the server \(404") as err:
        ChannelFetcher(cache)("channels.data", RemoteSource(f"{base}/gone.tsv", pinned))
    assert "\n" not in str(err.value)


def test_s3_objects_and_prefixes_are_fetched_again_only_when_changed(aws: MotoServer, tmp_path):
    aws.create_bucket("mt-data")
    s3 = aws.client("s3")
    for name, text in (("ref.de", "Haus\n"), ("deepl.de", "Haus\n"), ("sub/x.de", "Hause\n")):
        s3.put_object(Bucket="mt-data", Key=f"wmt/{name}", Body=text.encode())
    fetcher = ChannelFetcher(tmp_path / "cache")
    folder = fetcher("channels.wmt", RemoteSource("s3://mt-data/wmt/"))
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.de")) == [
        "deepl.de", "ref.de", "sub/x.de",
    ]  # fmt: skip
    assert fetcher("channels.wmt", RemoteSource("s3://mt-data/wmt/")) == folder
    assert fetcher.downloads == 3

    one = fetcher("channels.ref", RemoteSource("s3://mt-data/wmt/ref.de"))
    assert one.read_text() == "Haus\n" and fetcher.downloads == 4
    assert fetcher("channels.ref", RemoteSource("s3://mt-data/wmt/ref.de")) == one
    s3.put_object(Bucket="mt-data", Key="wmt/ref.de", Body=b"Das Haus\n")
    changed = fetcher("channels.ref", RemoteSource("s3://mt-data/wmt/ref.de"))
    assert changed != one and changed.read_text() == "Das Haus\n" and fetcher.downloads == 5
    assert fetcher("channels.wmt", RemoteSource("s3://mt-data/wmt/")) != folder  # refetched

    pinned = RemoteSource("s3://mt-data/wmt/deepl.de", _sha(b"other"))
    with pytest.raises(DataError, match="not the pinned"):
        fetcher("channels.sys", pinned)
    for url, message in (
        ("s3://mt-data/wmt/missing.de", "does not exist"),
        ("s3://no-such-bucket/x.de", "does not exist|bucket"),
        ("s3://mt-data/empty/", "holds no objects"),
    ):
        with pytest.raises(DataError, match=message) as err:
            fetcher("channels.x", RemoteSource(url))
        assert "\n" not in str(err.value) and url in str(err.value)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    params = 'data_file: str = ""  # pairs\nx: int = 1  # x'
    write_notebook(tmp_path / "notebooks" / "t.ipynb", params, ["print(data_file)"])
    (tmp_path / "experiments").mkdir()
    return tmp_path


def test_a_spec_channel_url_resolves_to_the_cached_copy(server, root, tmp_path):
    base, folder, hits = server
    data = PAIRS.encode()
    (folder / "pairs.tsv").write_bytes(data)
    spec = root / "experiments" / "t.yaml"
    spec.write_text(
        "name: t\nnotebook: notebooks/t.ipynb\nparams: {data_file: pairs.tsv}\n"
        f"channels:\n  data: {{url: '{base}/pairs.tsv', sha256: {_sha(data)}}}\n"
    )
    unfetched = prepare_experiment(spec, environ={})  # validate: form only, no request
    assert hits == [] and "data" not in unfetched.channels
    assert unfetched.remote_channels["data"].url == f"{base}/pairs.tsv"
    fetcher = ChannelFetcher(tmp_path / "cache")
    exp = prepare_experiment(spec, environ={}, fetch=fetcher)
    assert exp.channels["data"].read_bytes() == data and hits == ["/pairs.tsv"]
    # --channel takes a URL too, in its one-string form.
    (folder / "other.tsv").write_bytes(data + b"Tree\tBaum\tde\t1\n")
    url = f"{base}/other.tsv#sha256={_sha((folder / 'other.tsv').read_bytes())}"
    pointed = prepare_experiment(spec, environ={}, channel_paths={"data": url}, fetch=fetcher)
    assert pointed.channels["data"].name == "other.tsv"


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (
            "https://example.org/wmt.tgz",
            "channels: data: 'https://example.org/wmt.tgz' is not pinned: a downloaded file "
            "must be checked against its SHA-256; append #sha256=<sha256sum of the file> to "
            "the URL",
        ),
        (
            "https://example.org/wmt.tgz#sha256=abc",
            "channels: data: 'https://example.org/wmt.tgz#sha256=abc': sha256 must be 64 hex "
            "digits, got 3 characters; compute it with sha256sum FILE",
        ),
        (
            "{url: https://example.org/wmt.tgz, md5: abc}",
            "channels: data: a channel written as a mapping has keys url and sha256 only "
            "(got url, md5); e.g. {url: https://host/data.tgz, sha256: <64 hex digits>}",
        ),
    ],
)
def test_a_badly_written_url_is_one_line_and_nothing_is_fetched_or_written(
    root, monkeypatch, capsys, channel, expected
):
    spec = root / "experiments" / "t.yaml"
    spec.write_text(f"name: t\nnotebook: notebooks/t.ipynb\nchannels:\n  data: {channel}\n")
    monkeypatch.chdir(root)
    for command in ("validate", "run"):
        monkeypatch.setattr(sys, "argv", ["loclab", command, "experiments/t.yaml"])
        with pytest.raises(SystemExit) as exc:
            cli.main()
        assert exc.value.code == 2
        assert capsys.readouterr().err.splitlines() == [f"experiments/t.yaml: {expected}"]
    assert not (root / ".loclab").exists()


def test_run_refuses_a_wrong_pin_in_one_line_naming_the_flag(server, root, monkeypatch, capsys):
    base, folder, _ = server
    (folder / "pairs.tsv").write_bytes(PAIRS.encode())
    spec = root / "experiments" / "t.yaml"
    spec.write_text("name: t\nnotebook: notebooks/t.ipynb\nchannels:\n  data: pairs.tsv\n")
    (root / "pairs.tsv").write_bytes(PAIRS.encode())
    monkeypatch.chdir(root)
    url = f"{base}/pairs.tsv#sha256={'0' * 64}"
    argv = ["loclab", "run", "experiments/t.yaml", "--channel", f"data={url}"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    progress, line = capsys.readouterr().err.splitlines()
    assert progress == f"fetching --channel data: {base}/pairs.tsv"
    assert line.startswith(f"experiments/t.yaml: --channel data: {base}/pairs.tsv has sha256 ")
    assert not (root / ".loclab").exists()
