"""Comparing SVG snapshots of the terminal UI with the stored ones in
``snapshots/`` (``SIMTREINO_UPDATE_SNAPSHOTS=1`` rewrites them)."""

import os
import re
from pathlib import Path

HERE = Path(__file__).parent / "snapshots"


def normalise(svg: str) -> str:
    # Textual names its CSS classes after a hash of the render; the picture
    # is what matters.
    return re.sub(r"terminal-\d+", "terminal-X", svg)


HEX = re.compile(r"#[0-9a-fA-F]{6}\b")
# A probability drawn as a colour can land one step of 255 apart on another
# processor: OpenBLAS picks its kernels by CPU, and the last bits of a
# product differ. Every text and every cell must match; a colour channel
# may differ by this much.
COLOUR_TOLERANCE = 3


def colour_distance(got: str, want: str) -> int | None:
    """The largest channel difference between the colours of two SVGs that
    are otherwise identical; None when anything but a colour differs."""
    if HEX.sub("#", got) != HEX.sub("#", want):
        return None
    worst = 0
    for a, b in zip(HEX.findall(got), HEX.findall(want)):
        for i in (1, 3, 5):
            worst = max(worst, abs(int(a[i:i + 2], 16) - int(b[i:i + 2], 16)))
    return worst


def check_snapshot(name: str, out: Path) -> None:
    got = normalise(out.read_text())
    stored = HERE / f"{name}.svg"
    if os.environ.get("SIMTREINO_UPDATE_SNAPSHOTS"):
        stored.write_text(got)
    assert stored.exists(), f"no stored snapshot {stored}; run with SIMTREINO_UPDATE_SNAPSHOTS=1"
    want = stored.read_text()
    if got == want:
        return
    d = colour_distance(got, want)
    what = "text or layout" if d is None else f"a colour by {d}"
    assert d is not None and d <= COLOUR_TOLERANCE, (
        f"{name} looks different from {stored} ({what}); "
        "render it with `simtreino screenshot` and look")
