"""Reading MNIST: IDX files and mnist.npz (``simtreino.data.idx``), the bundled
subset and ``load_mnist`` (``simtreino.data.mnist``), and the script that
makes the subset.

Small synthetic files written here cover the format and every kind of
damage; the real files in the shared folder are used when they exist.
"""

import gzip
import importlib.util
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simtreino.data import DataError
from simtreino.data.idx import (
    IDX_FILES,
    load_mnist_dir,
    load_mnist_npz,
    read_idx,
    read_idx_images,
    read_idx_labels,
)
from simtreino.data.mnist import (
    class_quotas,
    load_bundled_mnist,
    load_mnist,
    scale_pixels,
    stratified_sample,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "mnist"
BUNDLED = ROOT / "simtreino" / "data" / "bundled"
needs_shared = pytest.mark.skipif(not (SHARED / "train-images-idx3-ubyte.gz").is_file(),
                                  reason="the shared MNIST files are not here")
# Digits 0-9 in the full sets (as published, and checked below against the files).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ------------------------------------------------------- synthetic files
def idx_bytes(magic: int, dims, data: bytes) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims) + data


def images_bytes(n: int, side: int = 28, seed: int = 0) -> tuple[bytes, np.ndarray]:
    x = np.random.default_rng(seed).integers(0, 256, (n, side, side), dtype=np.uint8)
    return idx_bytes(2051, (n, side, side), x.tobytes()), x


def labels_bytes(n: int, seed: int = 0) -> tuple[bytes, np.ndarray]:
    y = (np.arange(n) + seed) % 10
    return idx_bytes(2049, (n,), y.astype(np.uint8).tobytes()), y.astype(np.uint8)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


def write_mnist_dir(folder: Path, n_train=30, n_test=20, gz=True) -> dict:
    """The four files under their original names; returns the arrays written."""
    folder.mkdir(exist_ok=True)
    ext = ".gz" if gz else ""
    out = {}
    for part, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        xb, x = images_bytes(n, seed=seed)
        yb, y = labels_bytes(n, seed=seed)
        write(folder / f"{IDX_FILES['x_' + part]}{ext}", xb)
        write(folder / f"{IDX_FILES['y_' + part]}{ext}", yb)
        out[f"x_{part}"], out[f"y_{part}"] = x, y
    return out


def error_of(fn, *args) -> str:
    with pytest.raises(DataError) as e:
        fn(*args)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


# ------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", ["images.idx3-ubyte", "images.idx3-ubyte.gz"])
def test_images_round_trip(tmp_path, name):
    data, x = images_bytes(7)
    got = read_idx_images(write(tmp_path / name, data))
    assert got.dtype == np.uint8 and got.shape == (7, 28, 28)
    assert np.array_equal(got, x)
    got[0, 0, 0] = 1                       # the caller owns a writable array


@pytest.mark.parametrize("name", ["labels", "labels.gz"])
def test_labels_round_trip(tmp_path, name):
    data, y = labels_bytes(13)
    got = read_idx_labels(write(tmp_path / name, data))
    assert got.dtype == np.uint8 and np.array_equal(got, y)


def test_read_idx_reads_any_unsigned_byte_idx(tmp_path):
    raw = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path / "cube.gz", idx_bytes(0x0803, (2, 3, 4), raw.tobytes()))
    assert np.array_equal(read_idx(path), raw)
    path = write(tmp_path / "matrix", idx_bytes(0x0802, (4, 6), raw.tobytes()))
    assert read_idx(path).shape == (4, 6)


# ----------------------------------------------------------------- damage
IMAGES, _ = images_bytes(3)
LABELS, _ = labels_bytes(5)
DAMAGE = {
    "bad magic": ("x.gz", read_idx_images, LABELS, "bad magic number 2049"),
    "not idx": ("x", read_idx, b"PK\x03\x04" + bytes(20), "not an IDX file"),
    "float data": ("x", read_idx, idx_bytes(0x0D01, (2,), bytes(8)), "data type 0x0d"),
    "empty": ("x", read_idx_images, b"", "too short"),
    "short header": ("x.gz", read_idx_images, IMAGES[:10], "truncated header"),
    "truncated raw": ("x", read_idx_images, IMAGES[:-1], "truncated"),
    "truncated gz data": ("x.gz", read_idx_images, IMAGES[:-100], "only 2,252 follow"),
    "trailing raw": ("x", read_idx_images, IMAGES + b"\0\0", "2 unexpected bytes after"),
    "trailing gz": ("x.gz", read_idx_labels, LABELS + b"junk", "4 unexpected bytes"),
    "label 12": ("y", read_idx_labels, idx_bytes(2049, (3,), bytes([1, 12, 3])),
                 "label 12 at index 1 is outside 0-9"),
    "zero rows": ("x", read_idx_images, idx_bytes(2051, (1, 0, 28), b""), "zero-sized"),
}


@pytest.mark.parametrize("case", DAMAGE, ids=list(DAMAGE))
def test_damage_is_a_one_line_error_naming_the_file(tmp_path, case):
    name, reader, data, expected = DAMAGE[case]
    path = write(tmp_path / f"damaged-{name}", data)
    msg = error_of(reader, path)
    assert msg.startswith(str(path) + ": ") and expected in msg, msg


def test_a_gz_name_on_a_file_that_is_not_gzip(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"<html>Not Found</html>")
    msg = error_of(read_idx_images, path)
    assert msg.startswith(str(path)) and "named .gz but is not gzip-compressed" in msg


def test_a_cut_gzip_stream(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(IMAGES)[:-30])
    msg = error_of(read_idx_images, path)
    assert msg.startswith(str(path)) and "damaged or truncated gzip data" in msg


def test_a_header_claiming_gigabytes_does_not_allocate_them(tmp_path):
    path = write(tmp_path / "x", idx_bytes(2051, (4_000_000_000, 28, 28), bytes(100)))
    assert "only 100 follow" in error_of(read_idx_images, path)


def test_missing_file_and_folder(tmp_path):
    assert "file not found" in error_of(read_idx, tmp_path / "nope.gz")
    assert "is a folder" in error_of(read_idx, tmp_path)


# ---------------------------------------------------------- whole folders
@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_load_mnist_dir_reads_the_four_files(tmp_path, gz):
    written = write_mnist_dir(tmp_path, gz=gz)
    got = load_mnist_dir(tmp_path)
    assert set(got) == {"x_train", "y_train", "x_test", "y_test"}
    for key, a in written.items():
        assert np.array_equal(got[key], a) and got[key].dtype == np.uint8


def test_load_mnist_dir_names_the_missing_files(tmp_path):
    write_mnist_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    msg = error_of(load_mnist_dir, tmp_path)
    assert str(tmp_path) in msg and "t10k-labels-idx1-ubyte[.gz]" in msg
    assert "simtreino data fetch mnist" in msg
    assert "folder not found" in error_of(load_mnist_dir, tmp_path / "nowhere")


def test_images_and_labels_must_pair_up(tmp_path):
    write_mnist_dir(tmp_path, n_train=30)
    write(tmp_path / "train-labels-idx1-ubyte.gz", labels_bytes(29)[0])
    msg = error_of(load_mnist_dir, tmp_path)
    assert "train-images-idx3-ubyte.gz: holds 30 images but" in msg
    assert "train-labels-idx1-ubyte.gz holds 29 labels" in msg


def test_mnist_images_must_be_28_by_28(tmp_path):
    write_mnist_dir(tmp_path)
    write(tmp_path / "t10k-images-idx3-ubyte.gz", images_bytes(20, side=16)[0])
    msg = error_of(load_mnist_dir, tmp_path)
    assert "t10k-images-idx3-ubyte.gz: images are 16 x 16" in msg


# -------------------------------------------------------------- mnist.npz
def write_npz(path: Path, **override) -> dict:
    arrays = write_mnist_dir(path.parent / "src", gz=False)
    arrays.update(override)
    np.savez_compressed(path, **arrays)
    return arrays


def test_npz_round_trip(tmp_path):
    written = write_npz(tmp_path / "mnist.npz")
    got = load_mnist_npz(tmp_path / "mnist.npz")
    assert all(np.array_equal(got[k], written[k]) for k in written)


def test_npz_with_wider_integers_is_accepted(tmp_path):
    written = write_npz(tmp_path / "mnist.npz", y_train=np.arange(30, dtype=np.int64) % 10)
    got = load_mnist_npz(tmp_path / "mnist.npz")
    assert got["y_train"].dtype == np.uint8
    assert np.array_equal(got["y_train"], written["y_train"])


NPZ_DAMAGE = {
    "missing key": ({"x_test": None}, "missing array(s) x_test"),
    "labels 2-D": ({"y_train": np.zeros((30, 1), np.uint8)}, "y_train has shape (30, 1)"),
    "images flat": ({"x_test": np.zeros((20, 784), np.uint8)}, "x_test has shape (20, 784)"),
    "count": ({"y_test": np.zeros(19, np.uint8)}, "x_test: holds 20 images but y_test holds 19"),
    "label 10": ({"y_train": np.full(30, 10, np.uint8)}, "y_train: label 10 at index 0"),
    "floats": ({"x_train": np.zeros((30, 28, 28))}, "x_train has dtype float64"),
    "negative": ({"y_test": -np.ones(20, np.int16)}, "y_test has values outside 0-255"),
    "pickle": ({"y_test": np.array([object()] * 20)}, "not a readable .npz archive"),
}


@pytest.mark.parametrize("case", NPZ_DAMAGE, ids=list(NPZ_DAMAGE))
def test_npz_damage(tmp_path, case):
    override, expected = NPZ_DAMAGE[case]
    path = tmp_path / "mnist.npz"
    arrays = write_mnist_dir(tmp_path / "src", gz=False)
    arrays.update(override)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    msg = error_of(load_mnist_npz, path)
    assert msg.startswith(str(path)) and expected in msg, msg


def test_npz_that_is_not_a_zip(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"hello")
    assert "not a readable .npz archive" in error_of(load_mnist_npz, path)
    assert "file not found" in error_of(load_mnist_npz, tmp_path / "other.npz")


# ------------------------------------------------------ the real files
@pytest.fixture(scope="module")
def full():
    if not (SHARED / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("the shared MNIST files are not here")
    return load_mnist_dir(SHARED)


def test_the_real_files(full):
    assert full["x_train"].shape == (60_000, 28, 28) and full["x_test"].shape == (10_000, 28, 28)
    assert len(full["y_train"]) == 60_000 and len(full["y_test"]) == 10_000
    assert full["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(full["y_train"]).tolist() == TRAIN_COUNTS
    assert np.bincount(full["y_test"]).tolist() == TEST_COUNTS


# ------------------------------------------------------- bundled subset
@pytest.fixture(scope="module")
def bundled():
    return load_bundled_mnist()


def test_bundled_subset_shapes_and_types(bundled):
    assert bundled["x_train"].shape == (6000, 28, 28) and bundled["x_test"].shape == (1000, 28, 28)
    assert bundled["y_train"].shape == (6000,) and bundled["y_test"].shape == (1000,)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert bundled[key].dtype == np.uint8
    assert bundled["y_train"].max() == 9 and bundled["x_train"].max() == 255
    assert (BUNDLED / "mnist_subset.npz").stat().st_size < 5_000_000


@pytest.mark.parametrize("part, counts", [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_bundled_subset_is_stratified(bundled, part, counts):
    y = bundled[f"y_{part}"]
    exact = len(y) * np.array(counts) / sum(counts)
    assert np.all(np.abs(np.bincount(y, minlength=10) - exact) < 1)
    index = bundled[f"{part}_index"]
    assert len(np.unique(index)) == len(index) and np.all(np.diff(index) > 0)
    assert 0 <= index[0] and index[-1] < sum(counts)


def test_bundled_indices_point_at_the_same_images(bundled, full):
    for part in ("train", "test"):
        index = bundled[f"{part}_index"]
        assert np.array_equal(bundled[f"x_{part}"], full[f"x_{part}"][index])
        assert np.array_equal(bundled[f"y_{part}"], full[f"y_{part}"][index])


def test_bundled_provenance_note():
    text = (BUNDLED / "MNIST_SUBSET.md").read_text()
    for needed in ("CC BY-SA 3.0", "LeCun", "1998", "scripts/make_mnist_subset.py",
                   "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                   "train_index", "Seed 0"):
        assert needed in text


def load_script():
    spec = importlib.util.spec_from_file_location("make_mnist_subset",
                                                  ROOT / "scripts" / "make_mnist_subset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_shared
def test_the_script_is_reproducible_and_made_the_bundled_files(tmp_path, bundled):
    script = load_script()
    first, second = tmp_path / "a", tmp_path / "b"
    script.main(["--source", str(SHARED), "--out", str(first)])
    script.main(["--source", str(SHARED), "--out", str(second)])
    for name in ("mnist_subset.npz", "MNIST_SUBSET.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    # Compressed bytes depend on the zlib build; the arrays and the note do not.
    assert (first / "MNIST_SUBSET.md").read_text() == (BUNDLED / "MNIST_SUBSET.md").read_text()
    with np.load(first / "mnist_subset.npz", allow_pickle=False) as made:
        assert sorted(made.files) == sorted(bundled)
        assert all(np.array_equal(made[k], bundled[k]) for k in made.files)


def test_the_script_refuses_files_with_a_wrong_checksum(tmp_path):
    script = load_script()
    write_mnist_dir(tmp_path)
    with pytest.raises(SystemExit, match="checksum mismatch: expected sha256 440fcabf"):
        script.main(["--source", str(tmp_path), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------ load_mnist
def test_load_mnist_defaults_to_the_bundled_subset(bundled):
    x_train, y_train, x_test, y_test = load_mnist()
    assert np.array_equal(x_train, bundled["x_train"]) and np.array_equal(y_test,
                                                                          bundled["y_test"])
    assert x_test.shape == (1000, 28, 28) and y_train.dtype == np.uint8


def test_load_mnist_samples_are_stratified_and_seeded():
    a = load_mnist(subset=500, test_subset=100, seed=3)
    assert a.x_train.shape == (500, 28, 28) and a.x_test.shape == (100, 28, 28)
    exact = 500 * np.array(TRAIN_COUNTS) / sum(TRAIN_COUNTS)
    assert np.all(np.abs(np.bincount(a.y_train, minlength=10) - exact) < 2)   # twice rounded
    b = load_mnist(subset=500, test_subset=100, seed=3)
    c = load_mnist(subset=500, test_subset=100, seed=4)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_train, c.x_train)
    # The test sample does not depend on the training subset's size.
    assert np.array_equal(load_mnist(subset=50, test_subset=100, seed=3).x_test, a.x_test)


@pytest.mark.parametrize("kwargs, expected", [
    ({"subset": 6001}, "subset = 6001 is more than the 6,000 training images"),
    ({"test_subset": 1001}, "test_subset = 1001 is more than the 1,000 test images"),
    ({"subset": 0}, "subset must be a whole number of images >= 1, got 0"),
    ({"test_subset": 2.5}, "got 2.5"),
])
def test_load_mnist_refuses_impossible_subsets(kwargs, expected):
    with pytest.raises(DataError, match=re.escape(expected)):
        load_mnist(**kwargs)


def test_load_mnist_from_a_folder_or_an_npz(tmp_path):
    written = write_mnist_dir(tmp_path / "idx", n_train=40, n_test=20)
    d = load_mnist(subset=20, data_dir=tmp_path / "idx")
    assert d.x_train.shape == (20, 28, 28) and np.bincount(d.y_train).tolist() == [2] * 10
    assert np.array_equal(d.x_test, written["x_test"])
    with pytest.raises(DataError, match=r"subset = 41 is more than the 40 training images "
                                        r"available in .*idx"):
        load_mnist(subset=41, data_dir=tmp_path / "idx")
    np.savez(tmp_path / "mnist.npz", **written)
    from_file = load_mnist(data_dir=tmp_path / "mnist.npz")
    (tmp_path / "npz").mkdir()
    (tmp_path / "mnist.npz").rename(tmp_path / "npz" / "mnist.npz")
    from_folder = load_mnist(data_dir=tmp_path / "npz")
    for a, b, c in zip(from_file, from_folder, written.values()):
        assert np.array_equal(a, c) and np.array_equal(b, c)


@needs_shared
def test_load_mnist_reproduces_the_bundled_sample_from_the_full_files(bundled):
    d = load_mnist(subset=6000, test_subset=1000, data_dir=SHARED, seed=0)
    assert np.array_equal(d.x_train, bundled["x_train"])
    assert np.array_equal(d.y_test, bundled["y_test"])


# ----------------------------------------------------- sampling, scaling
def test_class_quotas_are_within_one_of_the_exact_share():
    rng = np.random.default_rng(0)
    for _ in range(200):
        counts = rng.integers(1, 500, rng.integers(2, 12))
        n = int(rng.integers(1, counts.sum() + 1))
        q = class_quotas(counts, n)
        assert q.sum() == n and np.all(np.abs(q - n * counts / counts.sum()) < 1)
        assert np.all(q <= counts)


def test_stratified_sample_takes_each_item_once():
    y = np.repeat(np.arange(10), 7)
    index = stratified_sample(y, 30, 0)
    assert len(set(index.tolist())) == 30 and np.bincount(y[index]).tolist() == [3] * 10


def test_scale_pixels():
    x = np.array([[0, 51, 255]], dtype=np.uint8)
    assert np.allclose(scale_pixels(x), [[0, 0.2, 1]])
    assert np.allclose(scale_pixels(x, "standard"), (np.array([[0, 0.2, 1]]) - 0.1307) / 0.3081)
    assert scale_pixels(x, dtype=np.float32).dtype == np.float32
    with pytest.raises(DataError, match="pixel scaling must be one of unit, standard"):
        scale_pixels(x, "minmax")


def test_the_mnist_modules_do_not_import_the_ui():
    code = ("import sys, simtreino.data.idx, simtreino.data.mnist, simtreino.data.fetch, "
            "simtreino.headless.datacmd; "
            "print(','.join(m for m in ('textual', 'rich', 'plotext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
