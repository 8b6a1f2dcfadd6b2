"""Make the MNIST subset bundled in the package, and its provenance note.

    python scripts/make_mnist_subset.py [--source DIR] [--out DIR]

Reads the four original MNIST files (gzipped IDX) from ``--source``
(default ``../shared/data/mnist`` next to the repository), refuses to go on
unless their SHA-256 match the published files, draws a seeded stratified
sample of 6,000 training and 1,000 test images, and writes
``mnist_subset.npz`` and ``MNIST_SUBSET.md`` into ``--out`` (default
``simtreino/data/bundled``).

The output is byte-for-byte reproducible (with the same zlib): the .npz is
a zip written here with fixed timestamps and attributes, where
``np.savez_compressed`` would stamp the current time into it. The sample is
exactly ``simtreino.data.mnist.load_mnist(6000, 1000, data_dir=SOURCE, seed=0)``.
"""

import argparse
import hashlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from simtreino.data.fetch import MNIST_FILES, sha256_of
from simtreino.data.idx import load_mnist_dir
from simtreino.data.mnist import BUNDLED_NPZ, sample_rngs, stratified_sample

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "mnist"
DEFAULT_OUT = ROOT / "simtreino" / "data" / "bundled"
NOTE = "MNIST_SUBSET.md"
N_TRAIN, N_TEST, SEED = 6000, 1000, 0
# The earliest date a zip entry can hold; any fixed value would do.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ARRAY_ORDER = ("x_train", "y_train", "x_test", "y_test", "train_index", "test_index")


def verify_sources(source: Path) -> dict:
    """SHA-256 of each original file, after checking it is the published one."""
    hashes = {}
    for remote in MNIST_FILES:
        path = source / remote.name
        if not path.is_file():
            raise SystemExit(f"{path}: not found (the four original MNIST files are needed)")
        actual = sha256_of(path)
        if actual != remote.sha256:
            raise SystemExit(f"{path}: checksum mismatch: expected sha256 {remote.sha256}, "
                             f"got {actual}")
        hashes[remote.name] = actual
    return hashes


def draw_subset(source: Path) -> dict:
    full = load_mnist_dir(source)
    train_rng, test_rng = sample_rngs(SEED)
    train_index = stratified_sample(full["y_train"], N_TRAIN, train_rng)
    test_index = stratified_sample(full["y_test"], N_TEST, test_rng)
    return {
        "x_train": full["x_train"][train_index],
        "y_train": full["y_train"][train_index],
        "x_test": full["x_test"][test_index],
        "y_test": full["y_test"][test_index],
        # int32: positions in the original files (0-based), enough for 60,000.
        "train_index": train_index.astype(np.int32),
        "test_index": test_index.astype(np.int32),
    }


def write_npz(path: Path, arrays: dict) -> None:
    """Like ``np.savez_compressed``, but every byte is fixed by the arrays alone;
    written to a temporary file first, then renamed into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w") as z:
            for key in ARRAY_ORDER:
                info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3               # unix, wherever it runs
                info.external_attr = 0o644 << 16     # rw-r--r--
                # zlib's default level, as np.savez_compressed: 9 saves 2% for 13x the time.
                z.writestr(info, npy_bytes(arrays[key]), compresslevel=6)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def class_counts(labels: np.ndarray) -> str:
    return ", ".join(str(c) for c in np.bincount(labels, minlength=10))


def provenance_note(source_hashes: dict, arrays: dict) -> str:
    files = "\n".join(f"| `{name}` | `{h}` |" for name, h in source_hashes.items())
    contents = "\n".join(
        f"| `{k}` | {arrays[k].dtype} | {' x '.join(map(str, arrays[k].shape))} | "
        f"`{hashlib.sha256(np.ascontiguousarray(arrays[k]).tobytes()).hexdigest()}` |"
        for k in ARRAY_ORDER)
    return f"""# The bundled MNIST subset

`mnist_subset.npz` holds {N_TRAIN:,} training and {N_TEST:,} test images of the
real MNIST database of handwritten digits, so the MNIST scenarios work
offline on a fresh install. Made by `scripts/make_mnist_subset.py`; do not
edit by hand.

## Source

The four original MNIST distribution files (gzipped IDX), checked against
these SHA-256 values before use (the same values `simtreino data fetch
mnist` verifies):

| file | SHA-256 |
| --- | --- |
{files}

## How the images were chosen

A stratified sample, separately for the training set (60,000 images) and
the test set (10,000): each digit gets a number of images proportional to
its frequency in the full set (largest-remainder rounding, so within one
image of the exact share), drawn at random within the class.

- Seed {SEED}: `numpy.random.SeedSequence({SEED}).spawn(2)` gives one PCG64
  generator for the training sample and one for the test sample; each
  class's images (digits 0 to 9 in order) are shuffled with
  `Generator.permutation` and the first ones taken
  (`simtreino.data.mnist.stratified_sample`).
- The images keep the order they have in the original files.
- `train_index` and `test_index` give each image's position (0-based) in
  the original `train-images-idx3-ubyte` / `t10k-images-idx3-ubyte`
  (the same position in the label files), so anyone with the full files can
  check the subset.
- The sample equals
  `simtreino.data.mnist.load_mnist(subset={N_TRAIN}, test_subset={N_TEST}, data_dir=FOLDER, seed={SEED})`
  on the full files.

Images per digit (0 to 9): training {class_counts(arrays["y_train"])};
test {class_counts(arrays["y_test"])}.

## Contents

uint8 images (0 = background, 255 = full ink) and labels 0-9, as in the
original files. SHA-256 of each array's raw bytes (C order):

| array | dtype | shape | SHA-256 of the data |
| --- | --- | --- | --- |
{contents}

## Regenerate

```
python scripts/make_mnist_subset.py --source ../shared/data/mnist --out simtreino/data/bundled
```

The output is byte-for-byte the same on every run (with the same zlib
library): the zip entries carry a fixed date.

## Licence and citation

The MNIST database was built by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges from NIST Special Databases 1 and 3. It is
generally stated to be available under the terms of the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0, https://creativecommons.org/licenses/by-sa/3.0/);
this subset is shared under the same licence.

Cite: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based
learning applied to document recognition", Proceedings of the IEEE,
86(11):2278-2324, November 1998.
"""


def make_subset(source: Path, out: Path) -> Path:
    """Verify the sources, draw the sample, write both files; return the .npz path."""
    hashes = verify_sources(source)
    arrays = draw_subset(source)
    out.mkdir(parents=True, exist_ok=True)
    npz = out / BUNDLED_NPZ
    write_npz(npz, arrays)
    (out / NOTE).write_text(provenance_note(hashes, arrays), encoding="utf-8")
    return npz


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Make the bundled MNIST subset.")
    p.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                   help="folder with the four original .gz files (default: %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="folder to write into (default: %(default)s)")
    args = p.parse_args(argv)
    npz = make_subset(args.source, args.out)
    print(f"wrote {npz} ({npz.stat().st_size:,} bytes) and {args.out / NOTE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
