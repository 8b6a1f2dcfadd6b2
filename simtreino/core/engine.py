"""The compiled training step and the fused loop around it.

One step is built from small kernels: ``gather`` (the batch),
``forward_layer`` per layer, ``loss_and_delta``, ``backward_layer`` and
``hidden_delta`` per layer, and the optimizer's ``update``. The fused loop
``train_loop`` calls exactly these kernels, and the phase-by-phase path of
the trainer calls them one at a time from Python, so both paths perform the
same floating-point operations in the same order: their numbers agree bit
for bit.

Epoch boundaries (shuffling, the learning-rate schedule, validation) are
kernels too, so a run of a million one-step epochs (XOR, full batch) never
returns to Python.

Buffers: per-layer batch arrays (z, a, delta, scratch) live in flat vectors
with one offset per layer, sized for the largest batch; a kernel takes a
``(n, units)`` view of the first ``n * units`` values.
"""

import math

import numpy as np

from .activations import activate, derivative
from .losses import loss_and_delta, count_correct
from .optimizers import update
from .schedules import schedule_end_epoch, S_LR
from .jit import kernel, kernel_inline

# Below this many multiply-adds a product runs as plain loops: a BLAS call
# costs ~1 us of overhead, more than a whole XOR step.
BLAS_MIN_FLOPS = 1 << 14

# Trainer counters (int64 vector shared by Python and the kernels).
C_STEP, C_EPOCH, C_POS, C_RNG, C_STATUS, C_EPOCH_STEPS = range(6)
N_COUNTERS = 6
# Status codes.
RUNNING, DIVERGED_NAN, DIVERGED_EXPLODED = 0, 1, 2

# Epoch accumulators (float64 vector).
A_LOSS_SUM, A_CORRECT, A_SAMPLES, A_LAST_LOSS, A_EXPLODE_LIMIT, A_FIRST_LOSS = range(6)
N_ACCUM = 6

# Columns of the epoch log the loop writes at each epoch end.
E_EPOCH, E_STEP, E_LOSS, E_ACC, E_VAL_LOSS, E_VAL_ACC, E_LR = range(7)
N_ELOG = 7


@kernel
def matmul_nt(a, w, out):
    """out = a @ w.T   (a: (n, k), w: (m, k))."""
    n, k = a.shape
    m = w.shape[0]
    if n * k * m >= BLAS_MIN_FLOPS:
        np.dot(a, w.T, out)
        return
    for i in range(n):
        for j in range(m):
            s = 0.0
            for q in range(k):
                s += a[i, q] * w[j, q]
            out[i, j] = s


@kernel
def matmul_tn(d, a, out):
    """out = d.T @ a   (d: (n, m), a: (n, k), out: (m, k))."""
    n, m = d.shape
    k = a.shape[1]
    if n * k * m >= BLAS_MIN_FLOPS:
        np.dot(d.T, a, out)
        return
    for j in range(m):
        for q in range(k):
            s = 0.0
            for i in range(n):
                s += d[i, j] * a[i, q]
            out[j, q] = s


@kernel
def matmul_nn(d, w, out):
    """out = d @ w   (d: (n, m), w: (m, k))."""
    n, m = d.shape
    k = w.shape[1]
    if n * k * m >= BLAS_MIN_FLOPS:
        np.dot(d, w, out)
        return
    for i in range(n):
        for q in range(k):
            s = 0.0
            for j in range(m):
                s += d[i, j] * w[j, q]
            out[i, q] = s


@kernel
def forward_layer(w, b, a_prev, z, a, act, act_param):
    """z = a_prev W^T + b ; a = f(z)."""
    matmul_nt(a_prev, w, z)
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            z[i, j] += b[j]
    activate(act, act_param, z, a)


@kernel
def backward_layer(w, a_prev, delta, gw, gb, da_prev, propagate):
    """dL/dW = delta^T a_prev ; dL/db = sum over the batch of delta ;
    dL/da_prev = delta W (only when ``propagate``: not for the first layer)."""
    matmul_tn(delta, a_prev, gw)
    n, m = delta.shape
    for j in range(m):
        s = 0.0
        for i in range(n):
            s += delta[i, j]
        gb[j] = s
    if propagate:
        matmul_nn(delta, w, da_prev)


@kernel
def hidden_delta(act, act_param, z, a, da, delta):
    """delta = dL/da * f'(z), elementwise."""
    derivative(act, act_param, z, a, delta)
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            delta[i, j] = da[i, j] * delta[i, j]


@kernel_inline
def view(buf, offset, n, m):
    return buf[offset:offset + n * m].reshape((n, m))


@kernel_inline
def layer_w(theta, layout, l):
    n_in = layout[l, 0]
    n_out = layout[l, 1]
    off = layout[l, 2]
    return theta[off:off + n_out * n_in].reshape((n_out, n_in))


@kernel_inline
def layer_b(theta, layout, l):
    n_out = layout[l, 1]
    off = layout[l, 3]
    return theta[off:off + n_out]


@kernel
def gather(x, t, labels, order, start, n, xb, tb, lb):
    """Copy the batch order[start:start+n] into the batch buffers."""
    for r in range(n):
        src = order[start + r]
        for c in range(x.shape[1]):
            xb[r, c] = x[src, c]
        for c in range(t.shape[1]):
            tb[r, c] = t[src, c]
        if labels.shape[0] > 0:
            lb[r] = labels[src]


@kernel
def forward(theta, layout, acts, act_params, xb, zbuf, abuf, offsets):
    """Forward through every layer; returns nothing, fills z and a buffers."""
    n = xb.shape[0]
    a_prev = xb
    for l in range(layout.shape[0]):
        m = layout[l, 1]
        z = view(zbuf, offsets[l], n, m)
        a = view(abuf, offsets[l], n, m)
        forward_layer(layer_w(theta, layout, l), layer_b(theta, layout, l), a_prev, z, a,
                      acts[l], act_params[l])
        a_prev = a


@kernel
def train_step(theta, grad, layout, acts, act_params, offsets, xb, tb, lb,
               zbuf, abuf, dbuf, sbuf, dl_da, loss_kind, loss_param, threshold,
               opt_kind, opt_state, opt_counters, hyper, lr):
    """One step on the batch in (xb, tb, lb): returns (loss, correct)."""
    n = xb.shape[0]
    L = layout.shape[0]
    forward(theta, layout, acts, act_params, xb, zbuf, abuf, offsets)
    m = layout[L - 1, 1]
    z_out = view(zbuf, offsets[L - 1], n, m)
    a_out = view(abuf, offsets[L - 1], n, m)
    delta = view(dbuf, offsets[L - 1], n, m)
    loss = loss_and_delta(loss_kind, loss_param, acts[L - 1], act_params[L - 1],
                          z_out, a_out, tb, delta, view(dl_da, 0, n, m))
    correct = 0
    if lb.shape[0] > 0:
        correct = count_correct(a_out, lb[:n], threshold)
    for l in range(L - 1, -1, -1):
        m = layout[l, 1]
        delta = view(dbuf, offsets[l], n, m)
        k = 0
        if l > 0:
            k = layout[l - 1, 1]
            a_prev = view(abuf, offsets[l - 1], n, k)
            da_prev = view(sbuf, offsets[l - 1], n, k)
        else:
            a_prev = xb
            da_prev = view(sbuf, 0, 0, 0)
        backward_layer(layer_w(theta, layout, l), a_prev, delta, layer_w(grad, layout, l),
                       layer_b(grad, layout, l), da_prev, l > 0)
        if l > 0:
            hidden_delta(acts[l - 1], act_params[l - 1], view(zbuf, offsets[l - 1], n, k),
                         a_prev, da_prev, view(dbuf, offsets[l - 1], n, k))
    update(opt_kind, theta, grad, opt_state, opt_counters, hyper, lr)
    return loss, correct


@kernel
def evaluate(theta, layout, acts, act_params, offsets, x, t, labels, xb, tb, lb,
             zbuf, abuf, dbuf, dl_da, loss_kind, loss_param, threshold, chunk):
    """Mean loss and number correct over a whole set, in chunks of ``chunk``.
    ``xb``/``tb`` are the flat batch buffers (``chunk`` rows). Uses the batch
    buffers; touches neither parameters nor gradients."""
    n_total = x.shape[0]
    L = layout.shape[0]
    m = layout[L - 1, 1]
    total = 0.0
    correct = 0
    identity = np.arange(n_total)
    start = 0
    while start < n_total:
        n = min(chunk, n_total - start)
        xv = view(xb, 0, n, x.shape[1])
        tv = view(tb, 0, n, t.shape[1])
        gather(x, t, labels, identity, start, n, xv, tv, lb)
        forward(theta, layout, acts, act_params, xv, zbuf, abuf, offsets)
        z_out = view(zbuf, offsets[L - 1], n, m)
        a_out = view(abuf, offsets[L - 1], n, m)
        loss = loss_and_delta(loss_kind, loss_param, acts[L - 1], act_params[L - 1],
                              z_out, a_out, tv, view(dbuf, offsets[L - 1], n, m),
                              view(dl_da, 0, n, m))
        total += loss * n
        if labels.shape[0] > 0:
            correct += count_correct(a_out, lb[:n], threshold)
        start += n
    return total / n_total, correct


@kernel
def next_random(counters):
    """splitmix64 on the trainer's own state: the same shuffles from any
    thread, in the fused loop and in phase stepping alike."""
    z = np.uint64(counters[C_RNG]) + np.uint64(0x9E3779B97F4A7C15)
    counters[C_RNG] = np.int64(z)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return z


@kernel
def begin_epoch(order, counters, shuffle):
    """Reset the position; with ``shuffle``, a new Fisher-Yates permutation."""
    counters[C_POS] = 0
    counters[C_EPOCH_STEPS] = 0
    if shuffle:
        for i in range(order.shape[0] - 1, 0, -1):
            j = np.int64(next_random(counters) % np.uint64(i + 1))
            tmp = order[i]
            order[i] = order[j]
            order[j] = tmp


@kernel
def after_step(counters, accum, loss, correct, n):
    """Fold one step's loss into the epoch's running sums; flag divergence."""
    counters[C_STEP] += 1
    counters[C_POS] += n
    counters[C_EPOCH_STEPS] += 1
    accum[A_LOSS_SUM] += loss * n
    accum[A_CORRECT] += correct
    accum[A_SAMPLES] += n
    accum[A_LAST_LOSS] = loss
    if counters[C_STEP] == 1:
        accum[A_FIRST_LOSS] = loss
    if not math.isfinite(loss):
        counters[C_STATUS] = DIVERGED_NAN
    elif loss > accum[A_EXPLODE_LIMIT] * accum[A_FIRST_LOSS] and accum[A_FIRST_LOSS] > 0.0:
        counters[C_STATUS] = DIVERGED_EXPLODED


@kernel
def end_epoch(counters, accum, sched, val_loss, val_acc, has_val, has_labels, elog, row):
    """Close an epoch: log it, advance the schedule, reset the sums.
    Accuracy is NaN for regression (no labels)."""
    samples = accum[A_SAMPLES]
    loss = accum[A_LOSS_SUM] / samples
    acc = accum[A_CORRECT] / samples if has_labels else math.nan
    counters[C_EPOCH] += 1
    elog[row, E_EPOCH] = counters[C_EPOCH]
    elog[row, E_STEP] = counters[C_STEP]
    elog[row, E_LOSS] = loss
    elog[row, E_ACC] = acc
    elog[row, E_VAL_LOSS] = val_loss
    elog[row, E_VAL_ACC] = val_acc
    elog[row, E_LR] = sched[S_LR]  # the rate this epoch was trained with
    schedule_end_epoch(sched, val_loss if has_val else loss)
    accum[A_LOSS_SUM] = 0.0
    accum[A_CORRECT] = 0.0
    accum[A_SAMPLES] = 0.0


@kernel
def train_loop(n_steps, stop_epoch, batch_size, chunk, shuffle,
               theta, grad, layout, acts, act_params, offsets,
               x, t, labels, xv, tv, lv, order,
               xb_buf, tb_buf, lb, zbuf, abuf, dbuf, sbuf, dl_da,
               loss_kind, loss_param, threshold,
               opt_kind, opt_state, opt_counters, hyper,
               counters, accum, sched, elog, step_losses):
    """Up to ``n_steps`` steps, stopping early at divergence or when the
    epoch counter reaches ``stop_epoch``. Writes each step's loss to
    ``step_losses`` and one row per finished epoch to ``elog``; returns
    (steps done, epochs logged). ``chunk``: rows the batch buffers hold."""
    n_total = x.shape[0]
    d = x.shape[1]
    tm = t.shape[1]
    has_val = xv.shape[0] > 0
    rows = 0
    done = 0
    while done < n_steps and counters[C_EPOCH] < stop_epoch:
        if counters[C_POS] == 0 and counters[C_EPOCH_STEPS] == 0:
            begin_epoch(order, counters, shuffle)
        start = counters[C_POS]
        n = min(batch_size, n_total - start)
        xb = view(xb_buf, 0, n, d)
        tb = view(tb_buf, 0, n, tm)
        gather(x, t, labels, order, start, n, xb, tb, lb)
        loss, correct = train_step(theta, grad, layout, acts, act_params, offsets, xb, tb, lb,
                                   zbuf, abuf, dbuf, sbuf, dl_da, loss_kind, loss_param,
                                   threshold, opt_kind, opt_state, opt_counters, hyper,
                                   sched[S_LR])
        after_step(counters, accum, loss, correct, n)
        step_losses[done] = loss
        done += 1
        if counters[C_STATUS] != RUNNING:
            break
        if counters[C_POS] >= n_total:
            val_loss = math.nan
            val_acc = math.nan
            if has_val:
                val_loss, vc = evaluate(theta, layout, acts, act_params, offsets, xv, tv, lv,
                                        xb_buf, tb_buf, lb, zbuf, abuf, dbuf, dl_da,
                                        loss_kind, loss_param, threshold, chunk)
                if labels.shape[0] > 0:
                    val_acc = vc / xv.shape[0]
            end_epoch(counters, accum, sched, val_loss, val_acc, has_val, labels.shape[0] > 0,
                      elog, rows)
            rows += 1
            counters[C_POS] = 0
            counters[C_EPOCH_STEPS] = 0
    return done, rows
