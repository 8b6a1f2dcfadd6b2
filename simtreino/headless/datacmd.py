"""``simtreino data fetch mnist [--dir D]``: download the full MNIST, verified.

One line per file (already there, or downloaded and verified; on a
terminal a percentage counts up in place while it downloads), then the
folder. Failures are one line on stderr: exit 1 when the network or a
checksum let us down, 2 when the command cannot be carried out as asked
(a --dir that is not a folder, one we may not write to).

The data modules are imported only when the command runs, so building the
command line parser stays light.
"""

import sys

PROG = "simtreino"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

MSG = {
    "present": "{file}: already there, checksum ok",
    "start": "{file}: downloading from {url}",
    "resume": "{file}: resuming from {url} at byte {done:,}",
    "percent": "{file}: {pct:3d}% of {total}",
    "retry": "{file}: {url}: {message}; retrying",
    "skip": "{file}: {url}: {message}",
    "skip_local": "{file}: {message}",
    "done": "{file}: downloaded, checksum ok",
    "folder": "MNIST files in {folder}",
    "error": "{prog}: error: {msg}",
    "os_error": "{file}: {reason}",
}


def cmd_data(args) -> int:
    """Run ``simtreino data ACTION ...`` (only ``fetch mnist`` exists so far)."""
    from simtreino.data.errors import DataError
    from simtreino.data.fetch import FetchError, fetch_mnist

    out = ProgressPrinter(sys.stdout)
    try:
        folder = fetch_mnist(dest_dir=args.dir, progress=out)
    except FetchError as e:
        return _fail(out, str(e), EXIT_FAILED)
    except DataError as e:
        return _fail(out, str(e), EXIT_USAGE)
    except OSError as e:
        # Writing a .part failed (no permission, disk full): name the file.
        msg = MSG["os_error"].format(file=e.filename, reason=e.strerror) if e.filename else e
        return _fail(out, str(msg), EXIT_USAGE)
    out.line(MSG["folder"].format(folder=folder))
    return EXIT_OK


def _fail(out: "ProgressPrinter", msg: str, code: int) -> int:
    out.end_line()
    sys.stderr.write(MSG["error"].format(prog=PROG, msg=" ".join(msg.split())) + "\n")
    return code


class ProgressPrinter:
    """Turns ``FetchEvent``s into lines; on a terminal, also a percentage
    rewritten in place (``\\r``) each time it grows by a whole percent."""

    def __init__(self, stream):
        self.stream = stream
        self.live = stream.isatty()
        self.open_line = False   # a \r-rewritten line waiting for its newline
        self.last_pct = -1

    def __call__(self, event) -> None:
        f = event.file
        if event.kind == "present":
            self.line(MSG["present"].format(file=f))
        elif event.kind == "start":
            key = "resume" if event.done else "start"
            self.line(MSG[key].format(file=f, url=event.url, done=event.done))
            self.last_pct = -1
        elif event.kind == "bytes" and self.live and event.total:
            self._percent(f, event.done, event.total)
        elif event.kind == "retry":
            self.line(MSG["retry"].format(file=f, url=event.url, message=event.message))
        elif event.kind == "skip":
            key = "skip" if event.url else "skip_local"
            self.line(MSG[key].format(file=f, url=event.url, message=event.message))
        elif event.kind == "done":
            self.line(MSG["done"].format(file=f))

    def _percent(self, file: str, done: int, total: int) -> None:
        pct = min(100, done * 100 // total)
        if pct == self.last_pct:
            return
        self.last_pct = pct
        text = MSG["percent"].format(file=file, pct=pct, total=_megabytes(total))
        self.stream.write("\r" + text)
        self.stream.flush()
        self.open_line = True

    def line(self, text: str) -> None:
        if self.open_line:
            self.stream.write("\r\x1b[K")   # clear the percentage this line replaces
            self.open_line = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def end_line(self) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"
