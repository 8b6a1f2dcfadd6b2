"""Downloading the four original MNIST files into a per-user cache, verified.

Standard library only (urllib). Each file is downloaded into ``NAME.part``
next to its final place; an interrupted download resumes from there with
an HTTP ``Range`` request (and starts over cleanly when the server ignores
it). Only a file whose SHA-256 matches the published value is renamed, in
one atomic ``os.replace``, to its final name -- so a file under the final
name is always complete and verified. A checksum mismatch is an error,
never a warning: the bad ``.part`` is deleted and the next mirror tried.

Errors raise ``FetchError`` (a ``DataError``), one line naming the file;
``ChecksumError`` also gives the expected and the actual hash.
"""

import hashlib
import http.client
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import simtreino
from simtreino.data.errors import DataError

__all__ = ["DEFAULT_MIRRORS", "MIRRORS_ENV", "MNIST_FILES", "ChecksumError", "FetchError",
           "FetchEvent", "RemoteFile", "fetch_file", "fetch_mnist", "mirror_list",
           "mnist_cache_dir", "sha256_of"]


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int      # bytes; lets a complete .part be recognised without asking a server
    sha256: str


# The original distribution files; sizes and hashes as verified in
# ../shared/data/mnist/README.md (their MD5s match the published ones).
MNIST_FILES = (
    RemoteFile("train-images-idx3-ubyte.gz", 9_912_422,
               "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    RemoteFile("train-labels-idx1-ubyte.gz", 28_881,
               "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    RemoteFile("t10k-images-idx3-ubyte.gz", 1_648_877,
               "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    RemoteFile("t10k-labels-idx1-ubyte.gz", 4_542,
               "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
)

# Tried in this order: the copies torchvision and TensorFlow use, then the
# original home page (which has refused downloads at times).
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MIRRORS_ENV = "SIMTREINO_MNIST_MIRRORS"   # space- or comma-separated base URLs
TIMEOUT_S = 30.0          # per socket operation (connect, each read)
RETRY_BACKOFF_S = 1.0     # wait before retry k on the same mirror: k x this
_CHUNK = 1 << 16


class FetchError(DataError):
    """A download that could not be completed (network, server, checksum)."""


class ChecksumError(FetchError):
    """Downloaded bytes whose SHA-256 is not the published one."""


@dataclass(frozen=True)
class FetchEvent:
    """What ``fetch_mnist`` reports to its ``progress`` callback.

    ``kind`` is one of: ``present`` (already there, checksum ok; nothing
    downloaded), ``start`` (a request to ``url``; ``done`` > 0 when resuming),
    ``bytes`` (``done`` of ``total`` bytes on disk), ``retry`` and ``skip``
    (this attempt or mirror failed, ``message`` says why), ``done`` (verified
    and in place).
    """
    file: str
    kind: str
    done: int = 0
    total: int = 0
    url: str = ""
    message: str = ""


Progress = Callable[[FetchEvent], None]


class _NetworkError(Exception):
    """Worth another attempt on the same mirror (timeouts, cut connections, 5xx)."""


class _MirrorError(Exception):
    """Not worth retrying on this mirror (404, 403, unknown host): try the next one."""


class _RangeRefused(_NetworkError):
    """HTTP 416: the server has nothing after the ``.part``'s end."""


# --------------------------------------------------------------- settings
def mnist_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/simtreino/mnist``, else ``~/.cache/simtreino/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "simtreino" / "mnist"


def mirror_list(mirrors=None) -> list[str]:
    """Base URLs to try, in order: ``mirrors`` if given, else the list in
    ``$SIMTREINO_MNIST_MIRRORS``, else ``DEFAULT_MIRRORS``; each ends with '/'."""
    if mirrors is None:
        env = os.environ.get(MIRRORS_ENV, "")
        mirrors = re.split(r"[\s,]+", env.strip()) if env.strip() else DEFAULT_MIRRORS
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    out = [m if m.endswith("/") else m + "/" for m in mirrors if m]
    if not out:
        raise DataError("no mirror to download from (the mirror list is empty)")
    for m in out:
        if not m.startswith(("http://", "https://")):
            raise DataError(f"mirror {m!r} is not an http:// or https:// URL")
    return out


def sha256_of(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --------------------------------------------------------------- fetching
def fetch_mnist(dest_dir=None, mirrors=None, retries: int = 3, progress: Progress | None = None,
                timeout: float = TIMEOUT_S) -> Path:
    """Make sure the four original MNIST files are in ``dest_dir`` (default:
    ``mnist_cache_dir()``), verified; return the folder.

    Files already there with the right checksum are not downloaded again.
    Each missing one is tried on every mirror in turn, ``retries`` attempts
    per mirror for transient failures (timeouts after ``timeout`` seconds
    of silence, cut connections, server errors), resuming its ``.part``.
    Raises ``FetchError`` / ``ChecksumError`` when a file cannot be had,
    ``DataError`` when ``dest_dir`` cannot be a folder.
    """
    dest = Path(dest_dir).expanduser() if dest_dir is not None else mnist_cache_dir()
    _make_folder(dest)
    bases = mirror_list(mirrors)
    for remote in MNIST_FILES:
        fetch_file(remote, dest, bases, retries=retries, progress=progress, timeout=timeout)
    return dest


def _make_folder(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise DataError(f"{dest}: exists and is not a folder")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{dest}: cannot create the folder ({e.strerror or e})") from None


def fetch_file(remote: RemoteFile, dest_dir, mirrors, retries: int = 3,
               progress: Progress | None = None, timeout: float = TIMEOUT_S) -> Path:
    """Download one file into ``dest_dir`` unless it is already there, verified."""
    if retries < 1:
        raise ValueError(f"retries must be at least 1, got {retries}")
    emit = progress or (lambda event: None)
    final = Path(dest_dir) / remote.name
    part = final.with_name(remote.name + ".part")
    if final.is_file():
        if sha256_of(final) == remote.sha256:
            emit(FetchEvent(remote.name, "present", remote.size, remote.size))
            return final
        emit(FetchEvent(remote.name, "skip", message="present but its checksum is wrong: "
                        "downloading it again"))
    if _part_is_finished(remote, part):
        return _install(remote, part, final, emit, url="")
    failures: dict[str, str] = {}   # mirror URL -> why it failed
    mismatch = None                 # (url, actual hash) of the last bad download
    for url in (base + remote.name for base in mirror_list(mirrors)):
        try:
            _download_with_retries(url, part, remote, retries, timeout, emit)
        except _MirrorError as e:
            failures[url] = str(e)
            emit(FetchEvent(remote.name, "skip", url=url, message=str(e)))
            continue
        actual = sha256_of(part)
        if actual == remote.sha256:
            return _install(remote, part, final, emit, url)
        # Resuming cannot mend wrong bytes: the next mirror starts from nothing.
        part.unlink()
        mismatch = (url, actual)
        failures[url] = "checksum mismatch"
        emit(FetchEvent(remote.name, "skip", url=url, message="checksum mismatch"))
    raise _final_error(remote, failures, mismatch)


def _download_with_retries(url: str, part: Path, remote: RemoteFile, retries: int,
                           timeout: float, emit: Progress) -> None:
    """``_download``, again (resuming) after each transient failure; raises
    ``_MirrorError`` once this mirror is not worth another attempt."""
    for attempt in range(1, retries + 1):
        try:
            return _download(url, part, remote, timeout, emit)
        except _NetworkError as e:
            if attempt == retries:
                raise _MirrorError(str(e)) from None
            emit(FetchEvent(remote.name, "retry", url=url,
                            message=f"{e} (attempt {attempt + 1} of {retries})"))
            time.sleep(RETRY_BACKOFF_S * attempt)


def _part_is_finished(remote: RemoteFile, part: Path) -> bool:
    """A ``.part`` as long as the file (a run stopped just before the rename)
    needs no download when it verifies; one that fails or is too long is removed."""
    try:
        size = part.stat().st_size
    except FileNotFoundError:
        return False
    if size < remote.size:
        return False
    if size == remote.size and sha256_of(part) == remote.sha256:
        return True
    part.unlink()
    return False


def _install(remote: RemoteFile, part: Path, final: Path, emit: Progress, url: str) -> Path:
    os.replace(part, final)   # atomic: the final name only ever holds a verified file
    emit(FetchEvent(remote.name, "done", remote.size, remote.size, url=url))
    return final


def _final_error(remote: RemoteFile, failures: dict, mismatch) -> FetchError:
    others = "; ".join(f"{url}: {why}" for url, why in failures.items()
                       if why != "checksum mismatch")
    if mismatch is not None:
        url, actual = mismatch
        tail = f"; other mirrors: {others}" if others else ""
        return ChecksumError(f"{remote.name}: checksum mismatch: expected sha256 "
                             f"{remote.sha256}, got {actual} (from {url}){tail}")
    return FetchError(f"{remote.name}: download failed from every mirror ({others})")


# ------------------------------------------------------------ one request
def _download(url: str, part: Path, remote: RemoteFile, timeout: float, emit: Progress) -> None:
    """Fetch ``url`` into ``part``, resuming what is there; return once the
    server has sent the whole file (or more: the checksum will tell)."""
    have = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(url, have, timeout)
    except _RangeRefused:
        # The .part does not fit what this server has: start over next attempt.
        part.unlink(missing_ok=True)
        raise
    with resp:
        if have and resp.status == 206 and _resumes_at(resp, have):
            mode = "ab"
        else:
            # The server ignored the Range header (or answered with an
            # unexpected range): what follows is the whole file.
            have, mode = 0, "wb"
        emit(FetchEvent(remote.name, "start", have, remote.size, url=url,
                        message=f"resuming at byte {have:,}" if have else ""))
        with open(part, mode) as f:
            for chunk in _chunks(resp):
                f.write(chunk)
                have += len(chunk)
                emit(FetchEvent(remote.name, "bytes", have, remote.size, url=url))
                if have > remote.size:
                    break   # already wrong; stop before a rogue server fills the disk
            f.flush()
            os.fsync(f.fileno())
    if have < remote.size:
        raise _NetworkError(f"connection closed after {have:,} of {remote.size:,} bytes")


def _open(url: str, have: int, timeout: float):
    headers = {"User-Agent": f"simtreino/{simtreino.__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        why = f"HTTP {e.code} {e.reason}".strip()
        if e.code == 416:
            raise _RangeRefused(f"{why} (cannot resume at byte {have:,})") from None
        if e.code in (408, 425, 429) or e.code >= 500:
            raise _NetworkError(why) from None
        raise _MirrorError(why) from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, socket.gaierror):
            raise _MirrorError(f"unknown host ({e.reason.strerror or e.reason})") from None
        raise _NetworkError(_why(e.reason)) from None
    except (OSError, http.client.HTTPException) as e:
        raise _NetworkError(_why(e)) from None


def _resumes_at(resp, have: int) -> bool:
    """True when a 206 answer starts exactly where the ``.part`` ends."""
    m = re.match(r"bytes\s+(\d+)-", resp.headers.get("Content-Range", ""))
    return m is not None and int(m.group(1)) == have


def _chunks(resp):
    """The body in pieces; network failures midway become ``_NetworkError`` (a
    full disk, raised by the caller's write, stays an OSError)."""
    while True:
        try:
            chunk = resp.read(_CHUNK)
        except (OSError, http.client.HTTPException) as e:
            raise _NetworkError(_why(e)) from None
        if not chunk:
            return
        yield chunk


def _why(e) -> str:
    if isinstance(e, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(e, http.client.IncompleteRead):
        return "connection closed midway"
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
