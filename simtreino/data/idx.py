"""Reading MNIST as it is distributed: the original IDX files and Keras' ``mnist.npz``.

IDX is a tiny binary format: a big-endian header (two zero bytes, a type
code, the number of dimensions, then one 32-bit size per dimension) and the
raw values, row-major. MNIST uses unsigned bytes (type 0x08): images have
magic 2051 (three dimensions: count, rows, columns) and labels 2049 (one).

Every problem with a file -- wrong magic number, a header that promises
more (or less) data than the file holds, a ``.gz`` that is not gzip,
labels outside 0-9, images and labels that do not pair up -- raises a
one-line ``DataError`` that names the file and says what is wrong. Nothing
here unpickles: ``mnist.npz`` is opened with ``allow_pickle=False``.
"""

import gzip
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from simtreino.data.errors import DataError

__all__ = ["IDX_FILES", "IMAGES_MAGIC", "LABELS_MAGIC", "find_mnist_files", "load_mnist_dir",
           "load_mnist_npz", "read_idx", "read_idx_images", "read_idx_labels"]

IMAGES_MAGIC = 2051   # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049   # 0x00000801: unsigned bytes, 1 dimension
_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"
IMAGE_SIDE = 28
N_CLASSES = 10

# The four files under their original names (without .gz), keyed like mnist.npz.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
NPZ_KEYS = tuple(IDX_FILES)

# Reading in pieces keeps a damaged header (one claiming gigabytes) from
# allocating memory for data that is not there.
_CHUNK = 1 << 20


# ------------------------------------------------------------------ IDX
def read_idx(path, expect_magic: int | None = None) -> np.ndarray:
    """The array stored in an IDX file of unsigned bytes, gzipped or raw.

    Returns a writable uint8 array shaped as the header says. With
    ``expect_magic`` (2051 images, 2049 labels) any other magic number is an
    error. Raises ``DataError`` naming the file for anything damaged.
    """
    path = Path(path)
    with _open_idx(path) as f:
        try:
            dims = _read_header(path, f, expect_magic)
            data = _read_exactly(path, f, dims)
        except (OSError, EOFError, zlib.error) as e:
            if not isinstance(f, gzip.GzipFile):
                raise DataError(f"{path}: cannot read the file ({_reason(e)})") from None
            # gzip reports a cut or corrupted stream only once it reaches it.
            raise DataError(f"{path}: damaged or truncated gzip data ({_reason(e)})") from None
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def read_idx_images(path) -> np.ndarray:
    """Images ``(n, rows, columns)`` uint8 from an IDX image file (magic 2051)."""
    return read_idx(path, expect_magic=IMAGES_MAGIC)


def read_idx_labels(path) -> np.ndarray:
    """Labels ``(n,)`` uint8 from an IDX label file (magic 2049), each checked to be 0-9."""
    labels = read_idx(path, expect_magic=LABELS_MAGIC)
    _check_label_range(str(path), labels)
    return labels


@contextmanager
def _open_idx(path: Path):
    """Open ``path`` for reading, through gzip when its first bytes say so.

    A name ending in ``.gz`` promises gzip: a file so named that is not
    gzip is an error (a half-downloaded HTML page, most often), not
    something to guess around.
    """
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an IDX file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({_reason(e)})") from None
    with raw:
        start = raw.read(2)
        raw.seek(0)
        if start == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped
            return
        if path.suffix == ".gz":
            raise DataError(f"{path}: named .gz but is not gzip-compressed "
                            f"(first bytes {start.hex() or 'none: empty file'})")
        yield raw


def _read_header(path: Path, f, expect_magic: int | None) -> tuple[int, ...]:
    """The dimensions declared by the header, after checking its magic number."""
    head = f.read(4)
    if len(head) < 4:
        raise DataError(f"{path}: too short for an IDX file ({len(head)} bytes, "
                        f"the header alone takes at least 8)")
    magic = struct.unpack(">I", head)[0]
    zeros, dtype_code, ndim = head[:2], head[2], head[3]
    if expect_magic is not None and magic != expect_magic:
        raise DataError(f"{path}: bad magic number {magic} (0x{magic:08x}); expected "
                        f"{expect_magic} (0x{expect_magic:08x}, an IDX "
                        f"{'image' if expect_magic == IMAGES_MAGIC else 'label'} file)")
    if zeros != b"\0\0" or ndim == 0:
        raise DataError(f"{path}: not an IDX file (magic number 0x{magic:08x})")
    if dtype_code != _UBYTE:
        raise DataError(f"{path}: IDX data type 0x{dtype_code:02x} is not supported "
                        f"(only unsigned bytes, 0x08)")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path}: truncated header ({4 + len(sizes)} bytes, "
                        f"expected {4 + 4 * ndim} for {ndim} dimensions)")
    dims = struct.unpack(f">{ndim}I", sizes)
    if any(d == 0 for d in dims[1:]):
        raise DataError(f"{path}: header declares a zero-sized dimension "
                        f"({' x '.join(map(str, dims))})")
    return dims


def _read_exactly(path: Path, f, dims: tuple[int, ...]) -> bytearray:
    """Exactly the data the header declares; fewer bytes or more are errors."""
    expected = int(np.prod(dims, dtype=np.int64))
    buf = bytearray()
    # One byte past the end tells trailing data apart from a complete file.
    while len(buf) <= expected:
        chunk = f.read(min(_CHUNK, expected + 1 - len(buf)))
        if not chunk:
            break
        buf += chunk
    shape = " x ".join(map(str, dims))
    if len(buf) < expected:
        raise DataError(f"{path}: truncated: the header declares {shape} "
                        f"({expected:,} bytes of data) but only {len(buf):,} follow")
    if len(buf) > expected:
        extra = 1 + _count_rest(f)
        raise DataError(f"{path}: {extra:,} unexpected bytes after the {expected:,} bytes "
                        f"of data the header declares ({shape})")
    return buf


def _count_rest(f) -> int:
    n = 0
    while chunk := f.read(_CHUNK):
        n += len(chunk)
    return n


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def _check_label_range(name: str, labels: np.ndarray) -> None:
    bad = np.flatnonzero(labels >= N_CLASSES)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{name}: label {int(labels[i])} at index {i} is outside 0-9 "
                        f"({bad.size} such labels)")


# --------------------------------------------------------- a whole folder
def find_mnist_files(folder) -> dict:
    """Paths of the four standard files in ``folder``, each gzipped (``NAME.gz``,
    preferred) or raw (``NAME``), keyed ``x_train, y_train, x_test, y_test``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found")
    found, missing = {}, []
    for key, name in IDX_FILES.items():
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            missing.append(f"{name}[.gz]")
    if missing:
        raise DataError(f"{folder}: missing MNIST file(s) {', '.join(missing)} "
                        f"(get them with 'simtreino data fetch mnist --dir {folder}')")
    return found


def load_mnist_dir(folder) -> dict:
    """The full MNIST from the four IDX files in ``folder``.

    Returns ``{"x_train", "y_train", "x_test", "y_test"}``: images uint8
    ``(n, 28, 28)`` and labels uint8 ``(n,)``; checks that images are 28x28
    and that each image file pairs with a label file of the same count.
    """
    files = find_mnist_files(folder)
    out = {}
    for part in ("train", "test"):
        images_path, labels_path = files[f"x_{part}"], files[f"y_{part}"]
        images = read_idx_images(images_path)
        labels = read_idx_labels(labels_path)
        _check_image_side(str(images_path), images)
        _check_pair(str(images_path), len(images), str(labels_path), len(labels))
        out[f"x_{part}"], out[f"y_{part}"] = images, labels
    return out


def _check_image_side(name: str, images: np.ndarray) -> None:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        shape = " x ".join(map(str, images.shape[1:]))
        raise DataError(f"{name}: images are {shape}, MNIST images are "
                        f"{IMAGE_SIDE} x {IMAGE_SIDE}")


def _check_pair(images_name: str, n_images: int, labels_name: str, n_labels: int) -> None:
    if n_images != n_labels:
        raise DataError(f"{images_name}: holds {n_images:,} images but {labels_name} "
                        f"holds {n_labels:,} labels")


# -------------------------------------------------------------- mnist.npz
def load_mnist_npz(path) -> dict:
    """The full MNIST from Keras' ``mnist.npz`` (keys ``x_train, y_train, x_test,
    y_test``), checked like the IDX files; same return value as ``load_mnist_dir``.

    Opened with ``allow_pickle=False``: an archive holding Python objects is
    refused rather than executed.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise DataError(f"{path}: holds a single array, not an .npz archive")
            missing = [k for k in NPZ_KEYS if k not in z.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)} "
                                f"(has: {', '.join(z.files) or 'none'})")
            arrays = {k: z[k] for k in NPZ_KEYS}
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, ValueError, EOFError) as e:
        # zipfile.BadZipFile is an OSError; object arrays raise ValueError.
        raise DataError(f"{path}: not a readable .npz archive ({_reason(e)})") from None
    return _checked_npz_arrays(str(path), arrays)


def _checked_npz_arrays(name: str, arrays: dict) -> dict:
    out = {}
    for part in ("train", "test"):
        images = _as_uint8(name, f"x_{part}", arrays[f"x_{part}"])
        labels = _as_uint8(name, f"y_{part}", arrays[f"y_{part}"])
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(f"{name}: x_{part} has shape {images.shape}, expected "
                            f"(n, {IMAGE_SIDE}, {IMAGE_SIDE})")
        if labels.ndim != 1:
            raise DataError(f"{name}: y_{part} has shape {labels.shape}, expected (n,)")
        _check_pair(f"{name}: x_{part}", len(images), f"y_{part}", len(labels))
        _check_label_range(f"{name}: y_{part}", labels)
        out[f"x_{part}"], out[f"y_{part}"] = images, labels
    return out


def _as_uint8(name: str, key: str, a: np.ndarray) -> np.ndarray:
    """uint8 as stored by Keras; other whole-number types are accepted when every
    value fits in 0-255 (a re-saved copy may have widened them)."""
    if a.dtype == np.uint8:
        return np.array(a)   # a writable copy, whatever np.load handed over
    if not np.issubdtype(a.dtype, np.integer):
        raise DataError(f"{name}: {key} has dtype {a.dtype}, expected uint8")
    if a.size and (a.min() < 0 or a.max() > 255):
        raise DataError(f"{name}: {key} has values outside 0-255")
    return a.astype(np.uint8)
