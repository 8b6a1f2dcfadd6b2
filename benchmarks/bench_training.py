"""Training speed of simtreino's fused fast path, a plain NumPy loop, and
PyTorch CPU eager (when torch is installed), with the ratios.

(a) XOR, 2-4-1 tanh/sigmoid, BCE, SGD+momentum, full batch: steps/s.
(b) MLP 784-128-64-10, ReLU, softmax cross-entropy, Adam, batch 64,
    float32, an epoch of 10,000 samples: MNIST-shaped learnable data
    (zero-mean inputs, labels from a random linear teacher; ``--data mnist``:
    real digits, the full files in ../shared/data/mnist when present, else
    the bundled subset repeated to 10,000). Samples/s of simtreino (the
    fused update and the slow path that updates after the whole backward
    pass), PyTorch CPU eager, and the matrix-multiply bound: the time NumPy
    needs for the same products at the same shapes, measured in the same
    round with NumPy's default BLAS threads and with one thread, the faster
    of the two counting as the machine's bound. Measured in rounds (a round
    measures every contender back to back), so a busy machine shows up as a
    spread of the ratios rather than as one misleading figure.

Run:  python benchmarks/bench_training.py [--quick] [--rounds N] [--data mnist]
                                          [--blas-threads N]
Prints figures; asserts nothing.
"""

import argparse
import ctypes
import glob
import os
import time

import numpy as np

from simtreino.core import engine
from simtreino.core.network import Architecture, init_params
from simtreino.core.trainer import SplitArrays, Trainer


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_blas_threads():
    """(get, set) of the thread count of NumPy's own OpenBLAS, or None."""
    root = os.path.dirname(np.__file__)
    for path in sorted(glob.glob(root + ".libs" + os.sep + "*openblas*")
                       + glob.glob(os.path.join(root, ".dylibs", "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in ("64_", ""):
            try:
                get = getattr(lib, "scipy_openblas_get_num_threads" + suffix)
                put = getattr(lib, "scipy_openblas_set_num_threads" + suffix)
            except AttributeError:
                continue
            return get, put
    return None


def span(values, fmt="{:,.0f}"):
    lo, hi = min(values), max(values)
    return fmt.format(lo) if lo == hi else fmt.format(lo) + "-" + fmt.format(hi)


# ----------------------------------------------------------------- (a) XOR
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_Y = np.array([[0], [1], [1], [0]], float)


def xor_trainer():
    arch = Architecture(2, [(4, "tanh", None), (1, "sigmoid", None)])
    theta = init_params(arch, [("xavier_uniform", {"gain": 1.0})] * 2, [0.0, 0.0],
                        np.random.default_rng(0), np.float64)
    return Trainer(arch, theta, SplitArrays(XOR_X, XOR_Y, XOR_Y[:, 0].astype(np.int64)), None,
                   loss="bce", optimizer="sgd", hyper={"lr": 0.5, "momentum": 0.9})


def xor_numpy(steps):
    rng = np.random.default_rng(0)
    w1, b1 = rng.uniform(-1, 1, (4, 2)), np.zeros(4)
    w2, b2 = rng.uniform(-1, 1, (1, 4)), np.zeros(1)
    params = [w1, b1, w2, b2]
    bufs = [np.zeros_like(p) for p in params]
    x, t = XOR_X, XOR_Y
    for _ in range(steps):
        h = np.tanh(x @ w1.T + b1)
        z = h @ w2.T + b2
        p = 1 / (1 + np.exp(-z))
        dz = (p - t) / len(x)
        gw2, gb2 = dz.T @ h, dz.sum(0)
        dh = (dz @ w2) * (1 - h * h)
        gw1, gb1 = dh.T @ x, dh.sum(0)
        for prm, g, b in zip(params, (gw1, gb1, gw2, gb2), bufs):
            b *= 0.9
            b += g
            prm -= 0.5 * b


def xor_torch(torch, steps):
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    model = model.double()
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    x, t = torch.tensor(XOR_X), torch.tensor(XOR_Y)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(x), t).backward()
        opt.step()


# ---------------------------------------------------------------- (b) MLP
SIZES = [784, 128, 64, 10]
BATCH = 64


def teacher_data(n=10_000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 784)).astype(np.float32)
    teacher = rng.normal(size=(784, 10))
    labels = np.argmax(x @ teacher, axis=1).astype(np.int64)
    return x, labels


def mnist_data(n=10_000):
    """Real digits, standardised: n images of the full training file when
    ../shared/data/mnist holds it, else the bundled subset (train + test)
    repeated up to n. Returns (x, labels, description)."""
    from simtreino.data.mnist import load_bundled_mnist, load_mnist
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
    if os.path.exists(os.path.join(shared, "train-images-idx3-ubyte.gz")):
        d = load_mnist(subset=n, test_subset=10, data_dir=shared)
        images, labels, what = d.x_train, d.y_train, "full MNIST files"
    else:
        d = load_bundled_mnist()
        images = np.concatenate([d["x_train"], d["x_test"]])
        labels = np.concatenate([d["y_train"], d["y_test"]])
        reps = -(-n // len(images))
        images, labels = np.tile(images, (reps, 1, 1))[:n], np.tile(labels, reps)[:n]
        what = "bundled MNIST subset, repeated"
    x = ((images.reshape(len(images), -1) / 255.0 - 0.1307) / 0.3081).astype(np.float32)
    return x, labels.astype(np.int64), what


def mlp_trainer(x, labels, fused=True):
    layers = [(128, "relu", None), (64, "relu", None), (10, "softmax", None)]
    arch = Architecture(784, layers)
    theta = init_params(arch, [("he_uniform", {})] * 3, [0.0] * 3, np.random.default_rng(0),
                        np.float32)
    t = np.eye(10, dtype=np.float32)[labels]
    tr = Trainer(arch, theta, SplitArrays(x, t, labels), None, loss="cross_entropy",
                 optimizer="adam", hyper={"lr": 1e-3}, batch_size=BATCH, shuffle=True)
    tr.fuse_update = fused
    return tr


def mlp_numpy_epoch(x, labels, state):
    """The same loop in plain NumPy (float32): forward, CE, backward, Adam."""
    ws, bs, m, v, t_ = state
    n = len(x)
    order = np.random.default_rng(t_[0]).permutation(n)
    onehot = np.eye(10, dtype=np.float32)
    for start in range(0, n, BATCH):
        idx = order[start:start + BATCH]
        a = [x[idx]]
        for i in range(3):
            z = a[-1] @ ws[i].T + bs[i]
            a.append(np.maximum(z, 0) if i < 2 else z)
        z = a[-1]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d = (p - onehot[labels[idx]]) / len(idx)
        grads = []
        for i in (2, 1, 0):
            grads.append((d.T @ a[i], d.sum(0)))
            if i:
                d = (d @ ws[i]) * (a[i] > 0)
        grads = grads[::-1]
        t_[0] += 1
        k = t_[0]
        for i in range(3):
            for j, (prm, g) in enumerate(((ws[i], grads[i][0]), (bs[i], grads[i][1]))):
                mm, vv = m[2 * i + j], v[2 * i + j]
                mm += 0.1 * (g - mm)
                vv *= 0.999
                vv += 0.001 * g * g
                denom = np.sqrt(vv) / np.sqrt(1 - 0.999 ** k) + 1e-8
                prm -= (1e-3 / (1 - 0.9 ** k)) * mm / denom


def numpy_state():
    rng = np.random.default_rng(0)
    ws = [rng.uniform(-0.05, 0.05, (o, i)).astype(np.float32) for i, o in zip(SIZES, SIZES[1:])]
    bs = [np.zeros(o, np.float32) for o in SIZES[1:]]
    m = [np.zeros_like(p) for pair in zip(ws, bs) for p in pair]
    v = [np.zeros_like(p) for p in m]
    return ws, bs, m, v, [0]


def mlp_torch_epoch(torch, model, opt, xt, yt):
    n = len(xt)
    perm = torch.randperm(n)
    loss_fn = torch.nn.CrossEntropyLoss()
    for start in range(0, n, BATCH):
        idx = perm[start:start + BATCH]
        opt.zero_grad()
        loss_fn(model(xt[idx]), yt[idx]).backward()
        opt.step()


def gemm_bound(n_samples, repeats=3):
    """Seconds NumPy's BLAS needs for the matrix products of one epoch at
    these shapes (forward, weight gradients, input gradients but the first)."""
    rng = np.random.default_rng(1)
    a = [rng.normal(size=(BATCH, s)).astype(np.float32) for s in SIZES]
    w = [rng.normal(size=(o, i)).astype(np.float32) for i, o in zip(SIZES, SIZES[1:])]
    outs_f = [np.empty((BATCH, o), np.float32) for o in SIZES[1:]]
    outs_g = [np.empty((o, i), np.float32) for i, o in zip(SIZES, SIZES[1:])]
    outs_d = [np.empty((BATCH, i), np.float32) for i in SIZES[:-1]]
    steps = -(-n_samples // BATCH)

    def one_epoch():
        for _ in range(steps):
            for i in range(3):
                np.matmul(a[i], w[i].T, out=outs_f[i])
            for i in range(3):
                np.matmul(a[i + 1].T, a[i], out=outs_g[i])
            for i in (1, 2):
                np.matmul(a[i + 1], w[i], out=outs_d[i])
    secs = best_of(one_epoch, repeats)
    flops = steps * sum(2 * BATCH * i * o for i, o in zip(SIZES, SIZES[1:])) * 2
    flops += steps * sum(2 * BATCH * i * o for i, o in zip(SIZES[1:-1], SIZES[2:]))
    return secs, flops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the MLP comparison")
    ap.add_argument("--data", choices=("teacher", "mnist"), default="teacher",
                    help="MLP data: random teacher (default) or real MNIST digits")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="set NumPy's OpenBLAS threads for the whole run (simtreino and the"
                         " GEMM bound alike)")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    threads = numpy_blas_threads()
    if args.blas_threads and threads:
        threads[1](args.blas_threads)
    scale = 0.1 if args.quick else 1.0
    print(f"machine: {os.cpu_count()} cores; numpy {np.__version__}"
          + (f"; torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else
             "; torch not installed"))
    # (getattr: the same script can measure versions from before BLAS_NAME)
    blas = getattr(engine, "BLAS_NAME", "SciPy's BLAS (numba np.dot)")
    print(f"simtreino's matrix products: {blas}"
          + (f", {threads[0]()} thread(s)" if threads else ""))

    # (a) XOR
    tr = xor_trainer()
    tr.run_steps(10)  # compile
    steps = int(2_000_000 * scale)
    rates = [steps / best_of(lambda: tr.run_steps(steps), 1) for _ in range(3)]
    ours = max(rates)
    np_steps = int(20_000 * scale)
    numpy_rate = np_steps / best_of(lambda: xor_numpy(np_steps))
    print("\n(a) XOR 2-4-1, full batch, SGD momentum")
    print(f"  simtreino fast path : {ours:12,.0f} steps/s   (runs: {span(rates)})")
    print(f"  plain NumPy loop    : {numpy_rate:12,.0f} steps/s   ratio {ours / numpy_rate:8.1f}x")
    if torch:
        t_steps = int(5_000 * scale)
        torch_rate = t_steps / best_of(lambda: xor_torch(torch, t_steps))
        print(f"  PyTorch CPU eager   : {torch_rate:12,.0f} steps/s   ratio {ours / torch_rate:8.1f}x"
              "   (target >= 200x)")

    # (b) MLP
    n = int(10_000 * scale) if args.quick else 10_000
    if args.data == "mnist":
        x, labels, what = mnist_data(n)
    else:
        (x, labels), what = teacher_data(n), "random teacher data"
    fused, slow = mlp_trainer(x, labels), mlp_trainer(x, labels, fused=False)
    fused.run_steps(2)  # compile
    slow.run_steps(2)
    if torch:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                    torch.nn.Linear(128, 64), torch.nn.ReLU(),
                                    torch.nn.Linear(64, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        xt, yt = torch.tensor(x), torch.tensor(labels)
        mlp_torch_epoch(torch, model, opt, xt[:BATCH * 4], yt[:BATCH * 4])  # warm up
    print("\n(b) MLP 784-128-64-10, ReLU, softmax CE, Adam, batch 64, float32,"
          f" {n} samples per epoch ({what})")
    rows = []
    for r in range(args.rounds):
        ours = n / best_of(lambda: fused.run_epochs(1))
        ours_slow = n / best_of(lambda: slow.run_epochs(1), 2)
        t_rate = float("nan")
        if torch:
            t_rate = n / best_of(lambda: mlp_torch_epoch(torch, model, opt, xt, yt), 2)
        gsecs, flops = gemm_bound(n)
        bound_default = n / gsecs
        bound_one = float("nan")
        if threads and threads[0]() > 1:
            before = threads[0]()
            threads[1](1)
            bound_one = n / gemm_bound(n)[0]
            threads[1](before)
        bound = float(np.nanmax([bound_default, bound_one]))
        rows.append((ours, ours_slow, t_rate, bound, ours / t_rate, ours / bound))
        print(f"  round {r + 1}: simtreino {ours:9,.0f} samples/s (update after backward"
              f" {ours_slow:,.0f}) | torch eager {t_rate:9,.0f} | GEMM bound {bound:9,.0f}"
              f" (default threads {bound_default:,.0f}, one thread {bound_one:,.0f};"
              f" {flops * bound / n / 1e9:.1f} GFLOP/s) | {ours / t_rate:.2f}x torch,"
              f" {ours / bound:.0%} of the bound")
    cols = list(zip(*rows))
    print(f"  simtreino fast path : {span(cols[0]):>17} samples/s   (train accuracy"
          f" {fused.snapshot().accuracy:.3f})")
    print(f"  update after backward:{span(cols[1]):>17} samples/s   (the slow path)")
    if torch:
        print(f"  PyTorch CPU eager   : {span(cols[2]):>17} samples/s   simtreino / torch:"
              f" {span(cols[4], '{:.2f}')}x   (target >= 3x)")
    print(f"  GEMM bound (NumPy)  : {span(cols[3]):>17} samples/s   simtreino / bound:"
          f" {span([100 * v for v in cols[5]], '{:.0f}')}%   (target >= 70%)")
    state = numpy_state()
    np_rate = n / best_of(lambda: mlp_numpy_epoch(x, labels, state), repeats=1)
    print(f"  plain NumPy loop    : {np_rate:17,.0f} samples/s   simtreino / NumPy:"
          f" {span([v / np_rate for v in cols[0]], '{:.2f}')}x")


if __name__ == "__main__":
    main()
