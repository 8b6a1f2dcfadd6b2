"""Downloading MNIST (``simtreino.data.fetch``) and ``simtreino data fetch mnist``.

Everything runs against a small HTTP server on 127.0.0.1 (a random port,
in a thread) that serves bytes from memory and can be told to misbehave:
no Range support, a connection cut midway, errors. Most tests use small
fake files with their own expected hashes; one downloads the real four
files from the shared folder, when it exists.
"""

import hashlib
import io
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from simtreino.cli import main
from simtreino.data import DataError, fetch
from simtreino.data.fetch import (
    ChecksumError,
    FetchError,
    RemoteFile,
    fetch_file,
    fetch_mnist,
    mirror_list,
    mnist_cache_dir,
    sha256_of,
)
from simtreino.data.idx import load_mnist_dir
from simtreino.headless.datacmd import ProgressPrinter

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"
needs_shared = pytest.mark.skipif(not (SHARED / "train-images-idx3-ubyte.gz").is_file(),
                                  reason="the shared MNIST files are not here")


# ------------------------------------------------------------- the server
class FileServer:
    """Serves ``files`` (name -> bytes) under ``/mnist/`` (and, as a second
    mirror, ``/copy/``); records every request.

    Switches: ``ranges`` (honour ``Range: bytes=N-``), ``cut`` (name -> how
    many body bytes to send before dropping the connection, once), ``status``
    (answer every request with this HTTP error instead).
    """

    def __init__(self, files: dict, ranges: bool = True):
        self.files = dict(files)
        self.ranges = ranges
        self.cut: dict[str, int] = {}
        self.status: int | None = None
        self.requests: list[tuple[str, str | None]] = []   # (path, Range header)
        self.sent = 0                                      # body bytes written
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):   # keep pytest's output clean
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                name = self.path.rsplit("/", 1)[-1]
                if server.status is not None:
                    return self.send_error(server.status)
                folder = self.path[: -len(name)]
                if folder not in ("/mnist/", "/copy/") or name not in server.files:
                    return self.send_error(404)
                data = server.files[name]
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if server.ranges and m:
                    start = int(m.group(1))
                    if start >= len(data):
                        return self.send_error(416)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in server.cut:
                    body = body[:server.cut.pop(name)]
                    self.close_connection = True
                self.wfile.write(body)
                server.sent += len(body)

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def fake(name: str, size: int, seed: int = 0) -> tuple[RemoteFile, bytes]:
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    return RemoteFile(name, size, hashlib.sha256(data).hexdigest()), data


FILE, DATA = fake("train-images-idx3-ubyte.gz", 300_000)
FAKE_SET = [fake(name, size, seed) for seed, (name, size) in enumerate(
    [("train-images-idx3-ubyte.gz", 200_000), ("train-labels-idx1-ubyte.gz", 3_000),
     ("t10k-images-idx3-ubyte.gz", 50_000), ("t10k-labels-idx1-ubyte.gz", 1_000)])]


@pytest.fixture(autouse=True)
def quick_and_local(monkeypatch):
    """No waiting between retries, no proxy, no mirror list from the environment."""
    monkeypatch.setattr(fetch, "RETRY_BACKOFF_S", 0.0)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.delenv(fetch.MIRRORS_ENV, raising=False)


@pytest.fixture
def server():
    with FileServer({FILE.name: DATA}) as s:
        yield s


@pytest.fixture
def fake_set(monkeypatch):
    """fetch_mnist downloads the four small fake files instead of the real ones."""
    monkeypatch.setattr(fetch, "MNIST_FILES", tuple(r for r, _ in FAKE_SET))
    with FileServer({r.name: d for r, d in FAKE_SET}) as s:
        yield s


def closed_port_url() -> str:
    """A URL nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def events_of(kind, events):
    return [e for e in events if e.kind == kind]


# ------------------------------------------------------------ downloading
def test_fresh_download_is_verified_and_leaves_no_part(server, tmp_path):
    events = []
    path = fetch_file(FILE, tmp_path, [server.url], progress=events.append)
    assert path == tmp_path / FILE.name and path.read_bytes() == DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE.name]
    assert [e.kind for e in events if e.kind != "bytes"] == ["start", "done"]
    assert events_of("bytes", events)[-1].done == FILE.size
    assert server.requests == [("/mnist/" + FILE.name, None)]


def test_a_verified_file_is_not_downloaded_again(server, tmp_path):
    (tmp_path / FILE.name).write_bytes(DATA)
    events = []
    fetch_file(FILE, tmp_path, [server.url], progress=events.append)
    assert server.requests == []
    assert [e.kind for e in events] == ["present"]


def test_a_present_file_with_a_wrong_checksum_is_replaced(server, tmp_path):
    (tmp_path / FILE.name).write_bytes(DATA[:-1] + b"x")
    fetch_file(FILE, tmp_path, [server.url])
    assert (tmp_path / FILE.name).read_bytes() == DATA
    assert len(server.requests) == 1


def test_a_part_file_resumes_with_a_range_request(server, tmp_path):
    (tmp_path / f"{FILE.name}.part").write_bytes(DATA[:100_000])
    events = []
    fetch_file(FILE, tmp_path, [server.url], progress=events.append)
    assert (tmp_path / FILE.name).read_bytes() == DATA
    assert server.requests == [("/mnist/" + FILE.name, "bytes=100000-")]
    assert server.sent == FILE.size - 100_000
    assert events_of("start", events)[0].done == 100_000
    assert not (tmp_path / f"{FILE.name}.part").exists()


def test_a_server_ignoring_range_restarts_the_file_cleanly(tmp_path):
    # Wrong bytes in the .part: appended to, they would spoil the file.
    (tmp_path / f"{FILE.name}.part").write_bytes(b"junk" * 1000)
    with FileServer({FILE.name: DATA}, ranges=False) as s:
        fetch_file(FILE, tmp_path, [s.url])
    assert (tmp_path / FILE.name).read_bytes() == DATA
    assert s.requests == [("/mnist/" + FILE.name, "bytes=4000-")]
    assert s.sent == FILE.size


def test_a_complete_part_is_installed_without_asking_a_server(tmp_path):
    (tmp_path / f"{FILE.name}.part").write_bytes(DATA)
    fetch_file(FILE, tmp_path, [closed_port_url()])
    assert (tmp_path / FILE.name).read_bytes() == DATA


def test_a_missing_file_on_the_first_mirror_moves_on_to_the_next(server, tmp_path):
    events = []
    fetch_file(FILE, tmp_path, [server.url + "elsewhere/", server.url], progress=events.append)
    assert (tmp_path / FILE.name).read_bytes() == DATA
    assert [p for p, _ in server.requests] == ["/mnist/elsewhere/" + FILE.name,
                                               "/mnist/" + FILE.name]
    (skip,) = events_of("skip", events)
    assert "404" in skip.message and "elsewhere" in skip.url


def test_a_checksum_mismatch_is_an_error_and_leaves_nothing(server, tmp_path):
    expected = RemoteFile(FILE.name, FILE.size, "0" * 64)
    with pytest.raises(ChecksumError) as e:
        fetch_file(expected, tmp_path, [server.url, server.url.replace("mnist", "copy")])
    msg = str(e.value)
    assert "\n" not in msg
    assert FILE.name in msg and "0" * 64 in msg and FILE.sha256 in msg
    assert list(tmp_path.iterdir()) == []                 # no final file, no .part
    assert len(server.requests) == 2                     # every mirror tried once


def test_an_interrupted_transfer_is_resumed_on_retry(server, tmp_path):
    server.cut[FILE.name] = 120_000
    events = []
    fetch_file(FILE, tmp_path, [server.url], progress=events.append)
    assert (tmp_path / FILE.name).read_bytes() == DATA
    assert [r for _, r in server.requests] == [None, "bytes=120000-"]
    (retry,) = events_of("retry", events)
    assert "120,000 of 300,000" in retry.message


def test_an_interrupted_transfer_without_range_support_starts_over(tmp_path):
    with FileServer({FILE.name: DATA}, ranges=False) as s:
        s.cut[FILE.name] = 70_000
        fetch_file(FILE, tmp_path, [s.url])
    assert (tmp_path / FILE.name).read_bytes() == DATA
    assert s.sent == 70_000 + FILE.size


def test_server_errors_are_retried_then_reported(server, tmp_path):
    server.status = 503
    with pytest.raises(FetchError) as e:
        fetch_file(FILE, tmp_path, [server.url], retries=3)
    assert len(server.requests) == 3
    msg = str(e.value)
    assert msg.startswith(f"{FILE.name}: download failed from every mirror")
    assert "HTTP 503" in msg and server.url in msg
    assert not isinstance(e.value, ChecksumError) and isinstance(e.value, DataError)


def test_refused_connections_exhaust_every_mirror(tmp_path):
    urls = [closed_port_url(), closed_port_url()]
    with pytest.raises(FetchError) as e:
        fetch_file(FILE, tmp_path, urls, retries=2)
    assert all(u in str(e.value) for u in urls)
    assert not (tmp_path / FILE.name).exists()


def test_a_silent_server_times_out_and_the_next_mirror_serves(server, tmp_path):
    # Listening but never answering: the connection is made, the reply never comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/mnist/"
        events = []
        fetch_file(FILE, tmp_path, [url, server.url], retries=1, timeout=0.2,
                   progress=events.append)
    assert (tmp_path / FILE.name).read_bytes() == DATA
    assert events_of("skip", events)[0].message == "timed out"


# ------------------------------------------------------------ fetch_mnist
def test_fetch_mnist_gets_the_four_files(fake_set, tmp_path):
    dest = tmp_path / "new" / "folder"
    assert fetch_mnist(dest, mirrors=fake_set.url) == dest
    for remote, data in FAKE_SET:
        assert (dest / remote.name).read_bytes() == data
    assert len(fake_set.requests) == 4
    fetch_mnist(dest, mirrors=fake_set.url)               # all there: no request
    assert len(fake_set.requests) == 4


def test_mirrors_come_from_the_environment(fake_set, tmp_path, monkeypatch):
    monkeypatch.setenv(fetch.MIRRORS_ENV, f"{closed_port_url()}, {fake_set.url.rstrip('/')}")
    assert len(mirror_list()) == 2 and all(u.endswith("/") for u in mirror_list())
    fetch_mnist(tmp_path, retries=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(r.name for r, _ in FAKE_SET)
    monkeypatch.setenv(fetch.MIRRORS_ENV, "  ")
    assert mirror_list() == list(fetch.DEFAULT_MIRRORS)
    monkeypatch.setenv(fetch.MIRRORS_ENV, "mirror.example.org/mnist")
    with pytest.raises(DataError, match="'mirror.example.org/mnist/' is not an http"):
        fetch_mnist(tmp_path)


def test_the_cache_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist_cache_dir() == tmp_path / "xdg" / "simtreino" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")   # invalid per the spec: ignored
    assert mnist_cache_dir() == tmp_path / "home" / ".cache" / "simtreino" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist_cache_dir() == tmp_path / "home" / ".cache" / "simtreino" / "mnist"


def test_a_destination_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(DataError, match="exists and is not a folder") as e:
        fetch_mnist(target, mirrors=closed_port_url())
    assert not isinstance(e.value, FetchError)


def test_the_published_hashes_are_those_of_the_shared_readme():
    readme = SHARED / "README.md"
    if not readme.is_file():
        pytest.skip("the shared MNIST folder is not here")
    text = readme.read_text()
    for remote in fetch.MNIST_FILES:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{remote.name}`"))
        assert remote.sha256 in row and f"{remote.size:,}" in row


@needs_shared
def test_the_real_files_download_and_verify(tmp_path):
    files = {r.name: (SHARED / r.name).read_bytes() for r in fetch.MNIST_FILES}
    with FileServer(files) as s:
        s.cut["train-images-idx3-ubyte.gz"] = 4_000_000   # and once more, resuming
        folder = fetch_mnist(tmp_path, mirrors=[s.url])
    for remote in fetch.MNIST_FILES:
        assert sha256_of(folder / remote.name) == remote.sha256
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    full = load_mnist_dir(folder)
    assert len(full["x_train"]) == 60_000 and len(full["y_test"]) == 10_000


# -------------------------------------------------------------------- CLI
def test_cli_fetch_prints_each_file_then_the_folder(fake_set, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(fetch.MIRRORS_ENV, fake_set.url)
    assert main(["data", "fetch", "mnist", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[-1] == f"MNIST files in {tmp_path}"
    done = [line for line in lines if line.endswith("downloaded, checksum ok")]
    assert len(done) == 4 and out.err == ""
    assert main(["data", "fetch", "mnist", "--dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[1] for line in lines[:-1]] == ["already there, checksum ok"] * 4


def test_cli_checksum_failure_is_one_line_and_exit_1(fake_set, tmp_path, monkeypatch, capsys):
    broken = [RemoteFile(r.name, r.size, "f" * 64) for r, _ in FAKE_SET]
    monkeypatch.setattr(fetch, "MNIST_FILES", tuple(broken))
    monkeypatch.setenv(fetch.MIRRORS_ENV, fake_set.url)
    assert main(["data", "fetch", "mnist", "--dir", str(tmp_path)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("simtreino: error: train-images-idx3-ubyte.gz: checksum mismatch")
    assert "f" * 64 in line
    assert list(tmp_path.iterdir()) == []


def test_cli_network_failure_exits_1(fake_set, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(fetch.MIRRORS_ENV, closed_port_url())
    assert main(["data", "fetch", "mnist", "--dir", str(tmp_path)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "download failed from every mirror" in line


def test_cli_bad_usage_exits_2_without_traceback(tmp_path):
    target = tmp_path / "a file"
    target.write_text("x")
    env = dict(os.environ, SIMTREINO_MNIST_MIRRORS=closed_port_url())
    for args, expected in ((["mnist", "--dir", str(target)], "exists and is not a folder"),
                           (["cifar"], "invalid choice: 'cifar'"),
                           ([], "required")):
        r = subprocess.run([sys.executable, "-m", "simtreino", "data", "fetch", *args],
                           capture_output=True, text=True, env=env, timeout=60, check=False)
        assert r.returncode == 2, r.stderr
        (line,) = r.stderr.splitlines()
        assert line.startswith("simtreino: error:") and expected in line


def test_progress_on_a_terminal_counts_up_in_place():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    show = ProgressPrinter(out)
    show(fetch.FetchEvent("f.gz", "start", 0, 1000, url="http://x/f.gz"))
    for done in (10, 500, 505, 1000):
        show(fetch.FetchEvent("f.gz", "bytes", done, 1000))
    show(fetch.FetchEvent("f.gz", "done", 1000, 1000))
    text = out.getvalue()
    assert text.count("\r") == 4 and "  1% of 1.0 kB" in text and "100% of" in text
    assert text.endswith("f.gz: downloaded, checksum ok\n")
