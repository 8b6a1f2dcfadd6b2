"""The compiled training step and the fused loop around it.

One step is built from small kernels: ``gather`` (the batch),
``forward_layer`` per layer, ``loss_and_delta``, ``backward_layer`` and
``hidden_delta`` per layer, and the optimizer's update, one layer at a time
(``update_layer``). The fused loop ``train_loop`` calls exactly these
kernels, and the phase-by-phase path of the trainer calls them one at a time
from Python, so both paths perform the same floating-point operations: their
numbers agree bit for bit.

The update is fused into the backward pass: layer l's parameters are updated
right after its gradient is computed (and its weights have been used to
propagate the error to layer l-1), while that gradient is still in cache.
Every optimizer rule is elementwise, so updating layer by layer gives the
same numbers as one pass over the whole vector after the backward pass. That
second order is kept as the slow path (``fused=False``: all gradients first,
then ``update_layers``); it is the place for anything that needs the whole
gradient before the update (clipping by the global norm, a penalty computed
over all layers). The phase-by-phase path always takes it, so the inspector
shows the whole gradient and the optimizer state before and after.
Measured on the 784-128-64-10 MLP (float32 Adam, batch 64) the two orders
run at the same speed: Adam is bound by its divisions and square roots
(~0.5 ns per parameter whether the data sit in L1 or in L3), not by memory.

Epoch boundaries (shuffling, the learning-rate schedule, validation) are
kernels too, so a run of a million one-step epochs (XOR, full batch) never
returns to Python.

Buffers: per-layer batch arrays (z, a, delta, scratch) live in flat vectors
with one offset per layer, sized for the largest batch; a kernel takes a
``(n, units)`` view of the first ``n * units`` values.
"""

import ctypes
import glob
import math
import os

import llvmlite.binding as llvm
from llvmlite import ir
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .activations import activate, derivative
from .layers import (MODE_EVAL, MODE_TRAIN, MODE_FROZEN, add_into, apply_mask,  # noqa: F401
                     batchnorm_backward, batchnorm_forward)
from .losses import loss_and_delta, count_correct
from .network import L_OUT, L_W, L_END, L_BN, L_RES, L_BN_UNIT
from .regularization import (R_L1, R_L2, R_CLIP_NORM, R_CLIP_VALUE, R_BN_EPS, R_BN_MOMENTUM,
                             ES_COLUMN, clip_norm, clip_value, early_stop_check, penalize,
                             weight_penalty)
from .optimizers import update, update_begin, update_slice  # noqa: F401 (update: re-exported)
from .schedules import schedule_end_epoch, S_LR
from .jit import kernel, kernel_inline

# Below this many multiply-adds a product runs as plain loops: a BLAS call
# costs ~1 us of overhead, more than a whole XOR step.
BLAS_MIN_FLOPS = 1 << 14

# Networks with fewer parameters update in one pass after the backward pass
# even when the update is fused (the same numbers): three small calls per
# layer cost XOR's 2-4-1 (a ~2 us step) about 2% and gain nothing there.
FUSE_MIN_PARAMS = 4096


# ----------------------------------------------------------------- BLAS
# Matrix products go to NumPy's own OpenBLAS (the library ``np.matmul``
# uses), called through CBLAS from the kernels. Numba's ``np.dot`` reaches
# BLAS through SciPy instead, and SciPy's wheel bundles another OpenBLAS: on
# these machines (numpy 2.4 / OpenBLAS 0.3.31, scipy 1.17 / OpenBLAS 0.3.30)
# it ran the 64x784x128 products of the MNIST MLP 12-20% slower, in one or
# two threads. The kernels name the functions by symbol
# (``simtreino_cblas_[sd]gemm``) and read a flag symbol at run time, both
# registered with LLVM here at import; so the compiled code stays cacheable
# (no address is baked in), and where NumPy's OpenBLAS cannot be found (other
# builds of NumPy) or ``SIMTREINO_BLAS=scipy`` is set, the flag is 0 and the
# kernels call ``np.dot`` as before.

_CBLAS_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_blas_flag = ctypes.c_int64(0)   # read by the kernels; must stay alive


def _numpy_cblas():
    """(path, sgemm, dgemm) of the ILP64 OpenBLAS bundled with NumPy's
    wheels, or None."""
    root = os.path.dirname(np.__file__)
    paths = sorted(glob.glob(root + ".libs" + os.sep + "*openblas*")
                   + glob.glob(os.path.join(root, ".dylibs", "*openblas*")))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)   # already loaded by NumPy: the same copy
        except OSError:
            continue
        for s_name, d_name in (("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_"),
                               ("cblas_sgemm64_", "cblas_dgemm64_")):
            try:
                return path, getattr(lib, s_name), getattr(lib, d_name)
            except AttributeError:
                continue
    return None


def _register_blas():
    found = None
    if os.environ.get("SIMTREINO_BLAS", "").lower() != "scipy":
        found = _numpy_cblas()
    if found is None:
        # Never called while the flag is 0; the symbols must exist anyway.
        dummy = ctypes.addressof(_blas_flag)
        addresses, name = (dummy, dummy), "SciPy's BLAS (numba np.dot)"
    else:
        addresses = tuple(ctypes.cast(f, ctypes.c_void_p).value for f in found[1:])
        name = "NumPy's OpenBLAS (" + os.path.basename(found[0]) + ")"
    llvm.add_symbol("simtreino_cblas_sgemm", addresses[0])
    llvm.add_symbol("simtreino_cblas_dgemm", addresses[1])
    llvm.add_symbol("simtreino_blas_flag", ctypes.addressof(_blas_flag))
    _blas_flag.value = 0 if found is None else 1
    return name


BLAS_NAME = _register_blas()


@intrinsic
def _numpy_blas(typingctx):
    """Whether the kernels call NumPy's OpenBLAS (read at run time)."""
    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        gv = builder.module.globals.get("simtreino_blas_flag")
        if gv is None:
            gv = ir.GlobalVariable(builder.module, i64, "simtreino_blas_flag")
            gv.linkage = "external"
        return builder.icmp_signed("!=", builder.load(gv), ir.Constant(i64, 0))
    return types.boolean(), codegen


@intrinsic
def _gemm(typingctx, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc):
    """Row-major C = op(A) op(B) (cblas_?gemm, alpha 1, beta 0) on the data
    of float arrays a, b, c with the given leading dimensions (elements)."""
    if not all(isinstance(x, types.Array) and x.dtype == c.dtype for x in (a, b, c)) \
            or c.dtype not in (types.float32, types.float64):
        return None
    dtype = c.dtype

    def codegen(context, builder, sig, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        fl = ir.FloatType() if dtype == types.float32 else ir.DoubleType()
        ptr = fl.as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, fl, ptr, i64, ptr,
                                               i64, fl, ptr, i64])
        name = "simtreino_cblas_sgemm" if dtype == types.float32 else "simtreino_cblas_dgemm"
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        tys = sig.args

        def integer(i):
            return context.cast(builder, args[i], tys[i], types.int64)

        def data(i):
            arr = context.make_array(tys[i])(context, builder, args[i])
            return builder.bitcast(arr.data, ptr)

        builder.call(fn, [ir.Constant(i32, _CBLAS_ROW_MAJOR), builder.trunc(integer(0), i32),
                          builder.trunc(integer(1), i32), integer(2), integer(3), integer(4),
                          ir.Constant(fl, 1.0), data(5), integer(6), data(7), integer(8),
                          ir.Constant(fl, 0.0), data(9), integer(10)])
        return context.get_dummy_value()
    return types.none(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc), codegen


@kernel_inline
def _rows_ok(x):
    """Whether CBLAS can take the 2-D ``x`` as it is: contiguous rows, each
    starting past the end of the previous one (any view of our buffers)."""
    s0 = x.strides[0]
    return (x.strides[1] == x.itemsize and s0 % x.itemsize == 0
            and (x.shape[0] <= 1 or s0 >= x.shape[1] * x.itemsize))


@kernel_inline
def _ld(x):
    """The leading dimension CBLAS wants, in elements."""
    return max(x.strides[0] // x.itemsize, x.shape[1], 1)


# Trainer counters (int64 vector shared by Python and the kernels).
C_STEP, C_EPOCH, C_POS, C_RNG, C_STATUS, C_EPOCH_STEPS = range(6)
N_COUNTERS = 6
# Status codes (anything but RUNNING ends training).
RUNNING, DIVERGED_NAN, DIVERGED_EXPLODED, STOPPED_EARLY = 0, 1, 2, 3

# Epoch accumulators (float64 vector), and what the last step measured.
(A_LOSS_SUM, A_CORRECT, A_SAMPLES, A_LAST_LOSS, A_EXPLODE_LIMIT, A_FIRST_LOSS, A_PENALTY_SUM,
 A_LAST_PENALTY, A_GRAD_NORM, A_CLIP_COEF) = range(10)
N_ACCUM = 10

# Columns of the epoch log the loop writes at each epoch end.
E_EPOCH, E_STEP, E_LOSS, E_ACC, E_VAL_LOSS, E_VAL_ACC, E_LR, E_PENALTY = range(8)
N_ELOG = 8

# The per-layer batch buffers, all of the parameters' dtype, passed as one
# tuple: pre-activation z = xW^T + b, activation a, batch-norm output y (the
# activation's input when the layer has batch norm) and normalised zhat,
# dropout mask, layer output (when dropout or a residual connection makes it
# differ from a), delta = dL/d(pre-activation), scratch for dL/da, dL/da of
# the output layer.
B_Z, B_A, B_Y, B_HAT, B_MASK, B_OUT, B_DELTA, B_DA, B_DLDA = range(9)

@kernel
def matmul_nt(a, w, out):
    """out = a @ w.T   (a: (n, k), w: (m, k))."""
    n, k = a.shape
    m = w.shape[0]
    if n * k * m >= BLAS_MIN_FLOPS:
        if _numpy_blas() and _rows_ok(a) and _rows_ok(w) and _rows_ok(out):
            _gemm(_NO_TRANS, _TRANS, n, m, k, a, _ld(a), w, _ld(w), out, _ld(out))
        else:
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
        if _numpy_blas() and _rows_ok(d) and _rows_ok(a) and _rows_ok(out):
            _gemm(_TRANS, _NO_TRANS, m, k, n, d, _ld(d), a, _ld(a), out, _ld(out))
        else:
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
        if _numpy_blas() and _rows_ok(d) and _rows_ok(w) and _rows_ok(out):
            _gemm(_NO_TRANS, _NO_TRANS, n, k, m, d, _ld(d), w, _ld(w), out, _ld(out))
        else:
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
    if n * m >= 1024:
        # Row by row into float64 sums: the loop over j vectorises (column
        # by column it ran 4.7 us for 64x128); each sum adds the same terms
        # in the same order, so the numbers are those of the loop below.
        acc = np.zeros(m)
        for i in range(n):
            for j in range(m):
                acc[j] += delta[i, j]
        for j in range(m):
            gb[j] = acc[j]
    else:
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


@kernel_inline
def pre_view(bufs, layout, offsets, l, n):
    """The activation's input of layer l: y with batch norm, z without."""
    m = layout[l, L_OUT]
    if layout[l, L_BN] >= 0:
        return view(bufs[B_Y], offsets[l], n, m)
    return view(bufs[B_Z], offsets[l], n, m)


@kernel_inline
def has_out(layout, drop_p, mode, l):
    """Whether layer l's output differs from its activation (then it lives
    in the B_OUT buffer)."""
    return layout[l, L_RES] != 0 or (mode != MODE_EVAL and drop_p[l] > 0.0)


@kernel_inline
def out_view(bufs, layout, offsets, drop_p, mode, l, n):
    """Layer l's output: the next layer's input."""
    m = layout[l, L_OUT]
    if has_out(layout, drop_p, mode, l):
        return view(bufs[B_OUT], offsets[l], n, m)
    return view(bufs[B_A], offsets[l], n, m)


@kernel
def draw_mask(mask, p, counters):
    """Inverted dropout: 0 with probability p, else 1/(1-p); from the
    trainer's own random stream, so runs repeat exactly."""
    n, m = mask.shape
    keep = 1.0 / (1.0 - p)
    for i in range(n):
        for j in range(m):
            u = float(next_random(counters) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
            mask[i, j] = 0.0 if u < p else keep


@kernel_inline
def layer_forward(l, theta, layout, acts, act_params, drop_p, reg, mode, a_prev, n, offsets,
                  bufs, bn_stats, bn_run, counters):
    """Layer l on the batch ``a_prev`` (n rows): product, batch norm,
    activation, dropout, residual connection, in that order."""
    m = layout[l, L_OUT]
    z = view(bufs[B_Z], offsets[l], n, m)
    a = view(bufs[B_A], offsets[l], n, m)
    w = layer_w(theta, layout, l)
    b = layer_b(theta, layout, l)
    bo = layout[l, L_BN]
    if bo < 0:
        forward_layer(w, b, a_prev, z, a, acts[l], act_params[l])
    else:
        matmul_nt(a_prev, w, z)
        for i in range(n):
            for j in range(m):
                z[i, j] += b[j]
        y = view(bufs[B_Y], offsets[l], n, m)
        u = layout[l, L_BN_UNIT]
        U = bn_run.shape[0] // 2    # running means, then running variances
        batchnorm_forward(z, theta[bo:bo + m], theta[bo + m:bo + 2 * m],
                          view(bufs[B_HAT], offsets[l], n, m), y, bn_stats[0, u:u + m],
                          bn_stats[1, u:u + m], bn_run[u:u + m], bn_run[U + u:U + u + m],
                          reg[R_BN_EPS], reg[R_BN_MOMENTUM], mode)
        activate(acts[l], act_params[l], y, a)
    if has_out(layout, drop_p, mode, l):
        out = view(bufs[B_OUT], offsets[l], n, m)
        if mode != MODE_EVAL and drop_p[l] > 0.0:
            mask = view(bufs[B_MASK], offsets[l], n, m)
            if mode == MODE_TRAIN:
                draw_mask(mask, drop_p[l], counters)
            apply_mask(a, mask, out)
        else:
            out[...] = a
        if layout[l, L_RES] != 0:
            add_into(out, a_prev)


@kernel_inline
def forward(theta, layout, acts, act_params, drop_p, reg, mode, xb, offsets, bufs, bn_stats,
            bn_run, counters):
    """Forward through every layer; fills the batch buffers."""
    n = xb.shape[0]
    layer_forward(0, theta, layout, acts, act_params, drop_p, reg, mode, xb, n, offsets, bufs,
                  bn_stats, bn_run, counters)
    for l in range(1, layout.shape[0]):
        layer_forward(l, theta, layout, acts, act_params, drop_p, reg, mode,
                      out_view(bufs, layout, offsets, drop_p, mode, l - 1, n), n, offsets,
                      bufs, bn_stats, bn_run, counters)


@kernel_inline
def layer_backward(l, theta, grad, layout, drop_p, reg, mode, a_prev, n, offsets, bufs):
    """Layer l's gradients from its delta (dL/dz), and dL/d(its input) into
    the scratch of layer l-1; then the penalty's gradient and clipping by
    value, so the layer's gradient is final. Returns the layer's penalty."""
    m = layout[l, L_OUT]
    delta = view(bufs[B_DELTA], offsets[l], n, m)
    if l > 0:
        da_prev = view(bufs[B_DA], offsets[l - 1], n, layout[l - 1, L_OUT])
    else:
        da_prev = view(bufs[B_DA], 0, 0, 0)
    w = layer_w(theta, layout, l)
    gw = layer_w(grad, layout, l)
    gb = layer_b(grad, layout, l)
    backward_layer(w, a_prev, delta, gw, gb, da_prev, l > 0)
    if layout[l, L_BN] >= 0:
        gb[:] = 0.0    # cancelled by the normalisation: exactly zero
    if l > 0 and layout[l, L_RES] != 0:
        add_into(da_prev, view(bufs[B_DA], offsets[l], n, m))   # the skip's share
    pen = 0.0
    if reg[R_L1] > 0.0 or reg[R_L2] > 0.0:
        pen = penalize(w, gw, reg[R_L1], reg[R_L2])
    if reg[R_CLIP_VALUE] > 0.0:
        clip_value(grad[layout[l, L_W]:layout[l, L_END]], reg[R_CLIP_VALUE])
    return pen


@kernel_inline
def layer_delta(l, theta, grad, layout, acts, act_params, drop_p, mode, n, offsets, bufs,
                bn_stats):
    """Hidden layer l's delta = dL/dz from dL/d(its output): through the
    dropout mask, the activation's derivative and batch norm (whose gamma
    and beta gradients it writes)."""
    m = layout[l, L_OUT]
    pre = pre_view(bufs, layout, offsets, l, n)
    a = view(bufs[B_A], offsets[l], n, m)
    da = view(bufs[B_DA], offsets[l], n, m)
    delta = view(bufs[B_DELTA], offsets[l], n, m)
    if mode != MODE_EVAL and drop_p[l] > 0.0:
        mask = view(bufs[B_MASK], offsets[l], n, m)
        derivative(acts[l], act_params[l], pre, a, delta)
        for i in range(n):
            for j in range(m):
                delta[i, j] = (da[i, j] * mask[i, j]) * delta[i, j]
    else:
        hidden_delta(acts[l], act_params[l], pre, a, da, delta)
    bo = layout[l, L_BN]
    if bo >= 0:
        u = layout[l, L_BN_UNIT]
        batchnorm_backward(delta, view(bufs[B_HAT], offsets[l], n, m), bn_stats[1, u:u + m],
                           theta[bo:bo + m], grad[bo:bo + m], grad[bo + m:bo + 2 * m], delta)


@kernel_inline
def update_layer(l, layout, opt_kind, theta, grad, opt_state, opt_counters, hyper, lr, opt_sc,
                 first):
    """The optimizer step (started by ``update_begin``) on layer l's
    parameters, which lie next to each other in the flat vectors."""
    update_slice(opt_kind, theta, grad, opt_state, opt_counters, hyper, lr, opt_sc, first,
                 layout[l, L_W], layout[l, L_END])


@kernel_inline
def update_layers(layout, opt_kind, theta, grad, opt_state, opt_counters, hyper, lr, opt_sc):
    """The whole optimizer step once every gradient is known, in one pass
    over the flat vectors: every rule is elementwise, so these are the
    numbers of the fused backward pass's layer-by-layer update."""
    first = update_begin(opt_kind, opt_counters, hyper, lr, opt_sc)
    # np.int64(0), not 0: a literal makes Numba compile a second copy of
    # update_slice and every rule in it (2.8 s of a ~48 s cold start)
    update_slice(opt_kind, theta, grad, opt_state, opt_counters, hyper, lr, opt_sc, first,
                 np.int64(0), theta.shape[0])


@kernel_inline
def global_clip(grad, reg, accum):
    """Clipping by the global norm, between the backward pass and the update."""
    if reg[R_CLIP_NORM] > 0.0:
        norm, coef = clip_norm(grad, reg[R_CLIP_NORM])
        accum[A_GRAD_NORM] = norm
        accum[A_CLIP_COEF] = coef


@kernel
def train_step(theta, grad, layout, acts, act_params, drop_p, reg, offsets, xb, tb, lb, bufs,
               bn_stats, bn_run, counters, accum, loss_kind, loss_param, threshold,
               opt_kind, opt_state, opt_counters, hyper, lr, opt_sc, fused):
    """One step on the batch in (xb, tb, lb): returns (loss, correct,
    penalty); the loss includes the penalty.

    ``fused``: update each layer during the backward pass (see the module's
    notes; from ``FUSE_MIN_PARAMS`` parameters, never with clipping by the
    global norm); otherwise all gradients first, then ``update_layers``.
    Same numbers either way. ``opt_sc``: scratch for ``update_begin``."""
    n = xb.shape[0]
    L = layout.shape[0]
    forward(theta, layout, acts, act_params, drop_p, reg, MODE_TRAIN, xb, offsets, bufs,
            bn_stats, bn_run, counters)
    m = layout[L - 1, L_OUT]
    z_out = view(bufs[B_Z], offsets[L - 1], n, m)
    a_out = view(bufs[B_A], offsets[L - 1], n, m)
    delta = view(bufs[B_DELTA], offsets[L - 1], n, m)
    loss = loss_and_delta(loss_kind, loss_param, acts[L - 1], act_params[L - 1],
                          z_out, a_out, tb, delta, view(bufs[B_DLDA], 0, n, m))
    correct = 0
    if lb.shape[0] > 0:
        correct = count_correct(a_out, lb[:n], threshold)
    fused = fused and theta.shape[0] >= FUSE_MIN_PARAMS and reg[R_CLIP_NORM] <= 0.0
    first = False
    if fused:
        first = update_begin(opt_kind, opt_counters, hyper, lr, opt_sc)
    penalty = 0.0
    for l in range(L - 1, -1, -1):
        if l > 0:
            a_prev = out_view(bufs, layout, offsets, drop_p, MODE_TRAIN, l - 1, n)
        else:
            a_prev = xb
        penalty += layer_backward(l, theta, grad, layout, drop_p, reg, MODE_TRAIN, a_prev, n,
                                  offsets, bufs)
        if fused:
            # layer l's gradient is complete and its weights have done their
            # last work of this step (propagating delta to layer l-1)
            update_layer(l, layout, opt_kind, theta, grad, opt_state, opt_counters, hyper, lr,
                         opt_sc, first)
        if l > 0:
            layer_delta(l - 1, theta, grad, layout, acts, act_params, drop_p, MODE_TRAIN, n,
                        offsets, bufs, bn_stats)
    if not fused:
        global_clip(grad, reg, accum)
        update_layers(layout, opt_kind, theta, grad, opt_state, opt_counters, hyper, lr, opt_sc)
    return loss + penalty, correct, penalty


@kernel
def evaluate(theta, layout, acts, act_params, drop_p, reg, offsets, x, t, labels, xb, tb, lb,
             bufs, bn_stats, bn_run, counters, loss_kind, loss_param, threshold, chunk, mode):
    """Mean loss and number correct over a whole set, in chunks of
    ``chunk`` rows. ``xb``/``tb`` are the flat batch buffers. ``mode``:
    MODE_EVAL (running statistics, no dropout; the data loss alone, as
    torch code computes a validation loss), or MODE_FROZEN for the
    training-mode loss, weight penalty included, with the masks of the last
    step (the set is then that step's batch). Touches neither parameters
    nor gradients."""
    n_total = x.shape[0]
    L = layout.shape[0]
    m = layout[L - 1, L_OUT]
    total = 0.0
    correct = 0
    identity = np.arange(n_total)
    start = 0
    while start < n_total:
        n = min(chunk, n_total - start)
        xv = view(xb, 0, n, x.shape[1])
        tv = view(tb, 0, n, t.shape[1])
        gather(x, t, labels, identity, start, n, xv, tv, lb)
        forward(theta, layout, acts, act_params, drop_p, reg, mode, xv, offsets, bufs,
                bn_stats, bn_run, counters)
        z_out = view(bufs[B_Z], offsets[L - 1], n, m)
        a_out = view(bufs[B_A], offsets[L - 1], n, m)
        loss = loss_and_delta(loss_kind, loss_param, acts[L - 1], act_params[L - 1],
                              z_out, a_out, tv, view(bufs[B_DELTA], offsets[L - 1], n, m),
                              view(bufs[B_DLDA], 0, n, m))
        total += loss * n
        if labels.shape[0] > 0:
            correct += count_correct(a_out, lb[:n], threshold)
        start += n
    if mode == MODE_EVAL:
        return total / n_total, correct
    return total / n_total + weight_penalty(theta, layout, reg[R_L1], reg[R_L2]), correct


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


@kernel_inline
def after_step(counters, accum, loss, correct, n, penalty):
    """Fold one step's loss into the epoch's running sums; flag divergence."""
    counters[C_STEP] += 1
    counters[C_POS] += n
    counters[C_EPOCH_STEPS] += 1
    accum[A_LOSS_SUM] += loss * n
    accum[A_PENALTY_SUM] += penalty * n
    accum[A_CORRECT] += correct
    accum[A_SAMPLES] += n
    accum[A_LAST_LOSS] = loss
    accum[A_LAST_PENALTY] = penalty
    if counters[C_STEP] == 1:
        accum[A_FIRST_LOSS] = loss
    if not math.isfinite(loss):
        counters[C_STATUS] = DIVERGED_NAN
    elif loss > accum[A_EXPLODE_LIMIT] * accum[A_FIRST_LOSS] and accum[A_FIRST_LOSS] > 0.0:
        counters[C_STATUS] = DIVERGED_EXPLODED


@kernel_inline
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
    elog[row, E_PENALTY] = accum[A_PENALTY_SUM] / samples
    schedule_end_epoch(sched, val_loss if has_val else loss)
    accum[A_LOSS_SUM] = 0.0
    accum[A_PENALTY_SUM] = 0.0
    accum[A_CORRECT] = 0.0
    accum[A_SAMPLES] = 0.0


@kernel_inline
def close_epoch(counters, accum, sched, has_val, has_labels, val_loss, val_acc, elog, row,
                es, theta, best_theta, bn_run, best_run):
    """End of an epoch in both paths: log it, then ask early stopping."""
    end_epoch(counters, accum, sched, val_loss, val_acc, has_val, has_labels, elog, row)
    counters[C_POS] = 0
    counters[C_EPOCH_STEPS] = 0
    if early_stop_check(es, elog[row, int(es[ES_COLUMN])], elog[row, E_EPOCH], theta,
                        best_theta, bn_run, best_run):
        counters[C_STATUS] = STOPPED_EARLY


@kernel
def train_loop(n_steps, stop_epoch, batch_size, chunk, shuffle,
               theta, grad, layout, acts, act_params, drop_p, reg, offsets,
               x, t, labels, xv, tv, lv, order,
               xb_buf, tb_buf, lb, bufs, bn_stats, bn_run,
               loss_kind, loss_param, threshold,
               opt_kind, opt_state, opt_counters, hyper, opt_sc, fused,
               counters, accum, sched, es, best_theta, best_run, elog, step_losses):
    """Up to ``n_steps`` steps, stopping early at divergence, early stopping
    or when the epoch counter reaches ``stop_epoch``. Writes each step's loss
    to ``step_losses`` and one row per finished epoch to ``elog``; returns
    (steps done, epochs logged). ``chunk``: rows the batch buffers hold;
    ``opt_sc``, ``fused``: see ``train_step``."""
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
        loss, correct, penalty = train_step(
            theta, grad, layout, acts, act_params, drop_p, reg, offsets, xb, tb, lb, bufs,
            bn_stats, bn_run, counters, accum, loss_kind, loss_param, threshold, opt_kind,
            opt_state, opt_counters, hyper, sched[S_LR], opt_sc, fused)
        after_step(counters, accum, loss, correct, n, penalty)
        step_losses[done] = loss
        done += 1
        if counters[C_STATUS] != RUNNING:
            break
        if counters[C_POS] >= n_total:
            val_loss = math.nan
            val_acc = math.nan
            if has_val:
                val_loss, vc = evaluate(theta, layout, acts, act_params, drop_p, reg, offsets,
                                        xv, tv, lv, xb_buf, tb_buf, lb, bufs, bn_stats, bn_run,
                                        counters, loss_kind, loss_param, threshold, chunk,
                                        MODE_EVAL)
                if labels.shape[0] > 0:
                    val_acc = vc / xv.shape[0]
            close_epoch(counters, accum, sched, has_val, labels.shape[0] > 0, val_loss, val_acc,
                        elog, rows, es, theta, best_theta, bn_run, best_run)
            rows += 1
            if counters[C_STATUS] != RUNNING:
                break
    return done, rows
