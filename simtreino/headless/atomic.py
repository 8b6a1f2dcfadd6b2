"""Write a whole file or nothing.

A reader (or a crash) must never see half a parameter file or half a
report: the bytes go to a temporary file in the same folder (so the final
``os.replace`` is a rename on one file system, which is atomic) and the
temporary file is removed if anything goes wrong.
"""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

# mkstemp makes files readable by their owner only; a report or parameter
# file should get the usual permissions, as if opened with open(). Reading
# the umask means setting it, so do it once, at import, before any thread.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_open(path, mode: str = "wb", **kwargs):
    """``with atomic_open(p) as f: f.write(...)`` -- ``p`` appears only once
    the block ends without an exception. Raises OSError when the folder
    does not exist or is not writable."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # BaseException: a Ctrl+C in the middle must not leave the temp file.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
