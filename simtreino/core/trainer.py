"""The trainer: owns the numbers of one run and advances them.

Two ways to advance, with identical numbers (the same kernels in the same
order, see ``engine``):

- ``run_steps`` / ``run_epochs``: the fused fast path, many steps per call;
- ``step_phases``: one step, kernel by kernel, returning a record of every
  tensor each phase touched (batch, forward per layer, loss, backward per
  layer, update) for the step-through inspector and ``explain``.

The trainer never imports anything of the UI; it publishes ``Snapshot``s.
"""

from copy import deepcopy
from dataclasses import dataclass, field
import math

import numpy as np

from . import engine as E
from .activations import ACTIVATIONS, derivative
from .arrays import zeros
from .history import Decimated
from .hyper import resolve
from .losses import LOSSES
from .layers import BN_EPS, BN_MOMENTUM, MODE_EVAL, MODE_FROZEN, MODE_TRAIN
from .network import Architecture
from .regularization import (CLIPPING, DROPOUT, EARLY_STOPPING, ES_BEST, ES_BEST_EPOCH, ES_ON,
                             ES_PATIENCE, ES_MIN_DELTA, ES_SIGN, ES_STOPPED_EPOCH, ES_WAIT,
                             MONITORS, N_REG, R_BN_EPS, R_BN_MOMENTUM, R_CLIP_NORM, R_CLIP_VALUE,
                             R_L1, R_L2, REGULARIZATION, clip_value, new_early_stopping,
                             no_early_stopping, penalize)
from .optimizers import (OPTIMIZERS, STATE_NAMES, N_STEP_SCALARS, new_state, pack_hyper, ADAM,
                         ADAMW)
from .schedules import SCHEDULES, S_EPOCH, S_LR, new_schedule, set_lr
from .snapshot import LayerStats, Snapshot

# Largest slice of steps one kernel call runs: bounds the per-call logs
# (memory) and the time before a stop request is seen.
MAX_STEPS_PER_CALL = 1 << 15

EPOCH_COLUMNS = ("epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "penalty")

# Settings ``set_hyper`` changes besides the optimizer's and the schedule's.
CRAFT = {"l1": (R_L1, REGULARIZATION["l1"]), "l2": (R_L2, REGULARIZATION["l2"]),
         "clip_grad_norm": (R_CLIP_NORM, CLIPPING["clip_grad_norm"]),
         "clip_grad_value": (R_CLIP_VALUE, CLIPPING["clip_grad_value"])}


@dataclass(frozen=True)
class SplitArrays:
    """One split of a dataset as the kernels want it."""
    x: np.ndarray        # (n, features)
    t: np.ndarray        # (n, outputs): the loss's targets
    labels: np.ndarray   # (n,) int64 class labels, or empty for regression

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass(frozen=True)
class PhaseRecord:
    """What one phase of a step computed. Arrays are copies."""
    phase: str                  # batch | forward | loss | backward | update
    layer: int | None = None
    tensors: dict = field(default_factory=dict)
    scalars: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A change made during a run (a hyperparameter edited at a step)."""
    step: int
    key: str
    value: object


class Divergence(Exception):
    pass


@dataclass(frozen=True)
class EarlyStop:
    """Where early stopping stands (Snapshot.early_stop)."""
    monitor: str
    patience: int
    wait: int                 # epochs since the best
    best: float               # the best monitored value so far (nan: none yet)
    best_epoch: int           # 0: none yet
    stopped_epoch: int        # 0: still training
    restored: bool            # the best weights were put back when it stopped


class Trainer:
    def __init__(self, arch: Architecture, theta: np.ndarray, train: SplitArrays,
                 val: SplitArrays | None, *, loss: str, loss_param: float = 0.0,
                 threshold: float = 0.5, optimizer: str = "sgd", hyper: dict | None = None,
                 schedule: str = "constant", schedule_params: dict | None = None,
                 batch_size: int | None = None, shuffle: bool = False, seed: int = 0,
                 explode_factor: float = 1e6, history_capacity: int = 4096,
                 l1: float = 0.0, l2: float = 0.0, clip_grad_norm: float = 0.0,
                 clip_grad_value: float = 0.0, dropout=None, early_stopping: dict | None = None):
        """``dropout``: the probability of each layer (None: none);
        ``early_stopping``: {monitor, patience, min_delta, restore_best}
        (see ``regularization``), None: off."""
        self.arch = arch
        self.dtype = theta.dtype
        self.theta = np.ascontiguousarray(theta)
        self.initial_theta = self.theta.copy()
        self.grad = zeros(self.theta.shape, self.dtype)
        self.train = self._cast(train)
        self.val = self._cast(val) if val is not None and len(val) else None
        self.loss_name = loss
        self.loss_kind = LOSSES[loss]
        self.loss_param = float(loss_param)
        self.threshold = float(threshold)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.events: list[Event] = []
        self.batch_size = len(self.train) if batch_size is None else int(batch_size)
        self.full_batch = batch_size is None
        self.optimizer = optimizer
        self.hyper = resolve(optimizer, OPTIMIZERS[optimizer][1], hyper or {})
        self.opt = new_state(optimizer, self.hyper, arch.n_params, self.dtype)
        self._hyper_vec = pack_hyper(optimizer, self.hyper, self.dtype)
        self._opt_sc = zeros(N_STEP_SCALARS, self.dtype)   # scratch of update_begin
        # The fast path updates each layer right after its gradient (see
        # engine's notes). False: all gradients first, then the update -- the
        # same numbers; the order anything needing the whole gradient before
        # the update (clipping by the global norm...) will need.
        self.fuse_update = True
        self.schedule = schedule
        self.schedule_params = resolve(schedule, SCHEDULES[schedule][1], schedule_params or {})
        self.sched = new_schedule(schedule, self.schedule_params, self.hyper["lr"])
        self.order = np.arange(len(self.train), dtype=np.int64)
        self.counters = np.zeros(E.N_COUNTERS, dtype=np.int64)
        seed_state = np.random.SeedSequence([self.seed, 0x5EED]).generate_state(1, np.uint64)[0]
        self.counters[E.C_RNG] = np.int64(seed_state.astype(np.int64))
        self.accum = np.zeros(E.N_ACCUM)
        self.accum[E.A_EXPLODE_LIMIT] = explode_factor
        self.reg = np.zeros(N_REG)
        self.reg[R_BN_EPS], self.reg[R_BN_MOMENTUM] = BN_EPS, BN_MOMENTUM
        for key, value in (("l1", l1), ("l2", l2), ("clip_grad_norm", clip_grad_norm),
                           ("clip_grad_value", clip_grad_value)):
            index, decl = CRAFT[key]
            self.reg[index] = decl.check(value)
        L = len(arch.layers)
        self.drop_p = np.zeros(L)
        for l, p in enumerate(dropout or ()):
            self._set_dropout(l, p)
        # Batch-norm running statistics (means, then variances; torch's
        # buffers start at 0 and 1) and the last batch's mean and 1/std.
        U = arch.n_bn_units
        self.bn_run = np.concatenate([np.zeros(U), np.ones(U)]).astype(self.dtype)
        self.bn_stats = np.zeros((2, U))
        self.early_stopping = dict(early_stopping) if early_stopping else None
        self.es = self._new_es()
        self.best_theta = self.theta.copy()
        self.best_run = self.bn_run.copy()
        self.epoch_log = Decimated(E.N_ELOG, history_capacity)
        self.step_log = Decimated(2, history_capacity)   # (step, batch loss)
        self._last_epoch_row = np.full(E.N_ELOG, np.nan)
        self._alloc_buffers()

    # ----------------------------------------------------------------- set-up
    def _new_es(self) -> np.ndarray:
        cfg = self.early_stopping
        if not cfg:
            return no_early_stopping()
        column, lower = MONITORS[cfg.get("monitor", "val_loss")]
        opts = {k: EARLY_STOPPING[k].check(cfg[k]) if k in cfg else EARLY_STOPPING[k].default
                for k in EARLY_STOPPING}
        return new_early_stopping(EPOCH_COLUMNS.index(column), lower, opts["patience"],
                                  opts["min_delta"], opts["restore_best"])

    def _set_dropout(self, layer: int, p) -> None:
        if not 0 <= layer < len(self.arch.layers) - 1:
            raise ValueError(f"dropout applies to hidden layers 0..{len(self.arch.layers) - 2}")
        self.drop_p[layer] = DROPOUT.check(p)

    def _cast(self, split: SplitArrays) -> SplitArrays:
        labels = np.ascontiguousarray(split.labels, dtype=np.int64)
        return SplitArrays(np.ascontiguousarray(split.x, dtype=self.dtype),
                           np.ascontiguousarray(split.t, dtype=self.dtype), labels)

    def _alloc_buffers(self) -> None:
        n_eval = len(self.val) if self.val is not None else 0
        # Evaluation runs in chunks of the buffer size; at least 512 rows so
        # it is not slowed down by a small training batch.
        cap = max(self.batch_size, min(512, max(len(self.train), n_eval)))
        self.chunk = cap
        widths = [s.n_out for s in self.arch.layers]
        self.offsets = np.array([cap * sum(widths[:i]) for i in range(len(widths))],
                                dtype=np.int64)
        total = cap * sum(widths)
        # see engine.B_*: z, a, y, zhat, mask, out, delta, dL/da, dL/da of the output
        self.bufs = tuple(zeros(total, self.dtype) for _ in range(8)) + (
            zeros(cap * self.arch.n_outputs, self.dtype),)
        self.xb = zeros(cap * self.arch.n_inputs, self.dtype)
        self.tb = zeros(cap * self.train.t.shape[1], self.dtype)
        has_labels = self.train.labels.shape[0] > 0
        self.lb = np.zeros(cap if has_labels else 0, np.int64)
        self._empty = SplitArrays(np.zeros((0, self.arch.n_inputs), self.dtype),
                                  np.zeros((0, self.train.t.shape[1]), self.dtype),
                                  np.zeros(0, np.int64))

    # ------------------------------------------------------------ properties
    @property
    def step(self) -> int:
        return int(self.counters[E.C_STEP])

    @property
    def epoch(self) -> int:
        return int(self.counters[E.C_EPOCH])

    @property
    def lr(self) -> float:
        return float(self.sched[S_LR])

    @property
    def diverged(self) -> bool:
        return self.counters[E.C_STATUS] in (E.DIVERGED_NAN, E.DIVERGED_EXPLODED)

    @property
    def stopped_early(self) -> bool:
        return self.counters[E.C_STATUS] == E.STOPPED_EARLY

    @property
    def halted(self) -> bool:
        """Training cannot go on: it diverged or early stopping ended it."""
        return self.counters[E.C_STATUS] != E.RUNNING

    @property
    def penalty_on(self) -> bool:
        return self.reg[R_L1] > 0 or self.reg[R_L2] > 0

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.train) // self.batch_size)

    def weight(self, i: int) -> np.ndarray:
        return self.arch.weight(self.theta, i)

    def bias(self, i: int) -> np.ndarray:
        return self.arch.bias(self.theta, i)

    # ------------------------------------------------------------ fast path
    def run_steps(self, n: int, stop_epoch: int | None = None) -> int:
        """Advance up to ``n`` steps on the fused path; returns steps done
        (fewer when training diverges or ``stop_epoch`` is reached)."""
        done_total = 0
        stop = np.iinfo(np.int64).max if stop_epoch is None else int(stop_epoch)
        while done_total < n and not self.halted and self.epoch < stop:
            k = min(n - done_total, MAX_STEPS_PER_CALL)
            losses = np.empty(k)
            elog = np.empty((k, E.N_ELOG))
            val = self.val or self._empty
            done, rows = E.train_loop(
                k, stop, self.batch_size, self.chunk, self.shuffle,
                self.theta, self.grad, self.arch.layout, self.arch.act_ids,
                self.arch.act_params, self.drop_p, self.reg, self.offsets,
                self.train.x, self.train.t, self.train.labels, val.x, val.t, val.labels,
                self.order, self.xb, self.tb, self.lb, self.bufs, self.bn_stats, self.bn_run,
                self.loss_kind, self.loss_param, self.threshold,
                self.opt.kind, self.opt.state, self.opt.counters, self._hyper_vec,
                self._opt_sc, self.fuse_update, self.counters, self.accum, self.sched,
                self.es, self.best_theta, self.best_run, elog, losses)
            self._log(self.step - done, losses[:done], elog[:rows])
            done_total += done
            if done == 0:
                break
        return done_total

    def run_epochs(self, k: int = 1) -> int:
        """Advance to the end of the k-th epoch from now (or divergence)."""
        target = self.epoch + k
        return self.run_steps(np.iinfo(np.int64).max, stop_epoch=target)

    def _log(self, first_step: int, losses: np.ndarray, elog: np.ndarray) -> None:
        if len(losses):
            steps = np.arange(first_step + 1, first_step + 1 + len(losses), dtype=float)
            self.step_log.extend(np.column_stack([steps, losses]))
        if len(elog):
            self.epoch_log.extend(elog)
            self._last_epoch_row = elog[-1].copy()

    # ---------------------------------------------------------- phase path
    def _buf(self, which: int, l: int, n: int) -> np.ndarray:
        """Layer l's (n, units) view of batch buffer ``which`` (engine.B_*)."""
        m = self.arch.layers[l].n_out
        return self.bufs[which][self.offsets[l]: self.offsets[l] + n * m].reshape(n, m)

    def _out(self, l: int, n: int, mode: int) -> np.ndarray:
        """Layer l's output (the next layer's input) after a forward pass."""
        s = self.arch.layers[l]
        differs = s.residual or (mode != MODE_EVAL and self.drop_p[l] > 0)
        return self._buf(E.B_OUT if differs else E.B_A, l, n)

    def step_phases(self) -> list[PhaseRecord]:
        """One step, phase by phase, with a record of each phase.

        Calls the very kernels ``train_loop`` calls, so the parameters
        afterwards equal the fast path's bit for bit. The update comes after
        the whole backward pass (``update_layers``, the fast path's unfused
        order), so the records show every gradient and the optimizer state
        before and after; the fused fast path updates the same layers in the
        same order during the backward pass, and every rule is elementwise,
        so the numbers are the same. The penalty's gradient and clipping by
        value, which the fast path applies inside ``layer_backward``, are
        applied here by the same kernels one after the other, so each part
        of the gradient can be shown."""
        if self.halted:
            raise Divergence("training has diverged; reset it first" if self.diverged else
                             "early stopping has ended training; reset it first")
        c, arch = self.counters, self.arch
        if c[E.C_POS] == 0 and c[E.C_EPOCH_STEPS] == 0:
            E.begin_epoch(self.order, c, self.shuffle)
        start = int(c[E.C_POS])
        n = min(self.batch_size, len(self.train) - start)
        d, tm = self.train.x.shape[1], self.train.t.shape[1]
        xb = self.xb[: n * d].reshape(n, d)
        tb = self.tb[: n * tm].reshape(n, tm)
        E.gather(self.train.x, self.train.t, self.train.labels, self.order, start, n,
                 xb, tb, self.lb)
        lb = self.lb[:n] if len(self.lb) else self.lb
        records = [PhaseRecord("batch", None,
                               {"indices": self.order[start:start + n].copy(),
                                "x": xb.copy(), "targets": tb.copy(), "labels": lb.copy()},
                               {"batch_size": n, "epoch": self.epoch, "step": self.step + 1})]
        L = len(arch.layers)
        args = (self.theta, arch.layout, arch.act_ids, arch.act_params, self.drop_p, self.reg,
                MODE_TRAIN)
        ins = [xb]
        for l, s in enumerate(arch.layers):
            w, b = self.weight(l), self.bias(l)
            E.layer_forward(l, *args, ins[l], n, self.offsets, self.bufs, self.bn_stats,
                            self.bn_run, c)
            out = self._out(l, n, MODE_TRAIN)
            tensors = {"input": ins[l].copy(), "weight": w.copy(), "bias": b.copy(),
                       "z": self._buf(E.B_Z, l, n).copy(), "a": self._buf(E.B_A, l, n).copy()}
            scalars = {"activation": s.activation, "batchnorm": s.batchnorm,
                       "residual": s.residual, "dropout": float(self.drop_p[l])}
            if s.batchnorm:
                u = s.bn_unit
                tensors.update({"z_hat": self._buf(E.B_HAT, l, n).copy(),
                                "y": self._buf(E.B_Y, l, n).copy(),
                                "gamma": arch.gamma(self.theta, l).copy(),
                                "beta": arch.beta(self.theta, l).copy(),
                                "batch_mean": self.bn_stats[0, u:u + s.n_out].copy(),
                                "batch_istd": self.bn_stats[1, u:u + s.n_out].copy()})
            if self.drop_p[l] > 0:
                tensors["mask"] = self._buf(E.B_MASK, l, n).copy()
            if s.residual or self.drop_p[l] > 0:
                tensors["out"] = out.copy()
            records.append(PhaseRecord("forward", l, tensors, scalars))
            ins.append(out)
        m = arch.n_outputs
        z_out, a_out = self._buf(E.B_Z, L - 1, n), self._buf(E.B_A, L - 1, n)
        delta = self._buf(E.B_DELTA, L - 1, n)
        dl_da = self.bufs[E.B_DLDA][: n * m].reshape(n, m)
        loss = E.loss_and_delta(self.loss_kind, self.loss_param, arch.act_ids[L - 1],
                                arch.act_params[L - 1], z_out, a_out, tb, delta, dl_da)
        correct = E.count_correct(a_out, lb, self.threshold) if len(lb) else 0
        records.append(PhaseRecord("loss", L - 1, {
            "output": a_out.copy(), "targets": tb.copy(), "dloss_da": dl_da.copy(),
            "delta": delta.copy()}, {"loss": float(loss), "correct": int(correct),
                                     "kind": self.loss_name}))
        plain = self.reg.copy()     # the backward pass without penalty or clipping
        plain[R_L1] = plain[R_L2] = plain[R_CLIP_VALUE] = 0.0
        loss_grad = np.zeros_like(self.grad)   # dL/dθ, penalty included, before clipping
        penalty = 0.0
        for l in range(L - 1, -1, -1):
            s = arch.layers[l]
            tensors = {"delta": self._buf(E.B_DELTA, l, n).copy()}
            E.layer_backward(l, self.theta, self.grad, arch.layout, self.drop_p, plain,
                             MODE_TRAIN, ins[l], n, self.offsets, self.bufs)
            gw = arch.weight(self.grad, l)
            tensors.update({"input": ins[l].copy(), "grad_weight": gw.copy(),
                            "grad_bias": arch.bias(self.grad, l).copy()})
            if self.penalty_on:
                penalty += penalize(self.weight(l), gw, self.reg[R_L1], self.reg[R_L2])
                tensors["grad_weight_data"] = tensors["grad_weight"]
                tensors["grad_weight"] = gw.copy()
            if s.batchnorm:
                tensors.update({"grad_gamma": arch.gamma(self.grad, l).copy(),
                                "grad_beta": arch.beta(self.grad, l).copy()})
            loss_grad[s.w_offset:s.end] = self.grad[s.w_offset:s.end]
            if self.reg[R_CLIP_VALUE] > 0:
                clip_value(self.grad[s.w_offset:s.end], self.reg[R_CLIP_VALUE])
            if l > 0:
                prev = arch.layers[l - 1]
                pre = self._buf(E.B_Y if prev.batchnorm else E.B_Z, l - 1, n)
                fprime = np.empty_like(pre)  # for display only
                derivative(ACTIVATIONS[prev.activation], arch.act_params[l - 1], pre,
                           self._buf(E.B_A, l - 1, n), fprime)
                tensors.update({"dloss_da_prev": self._buf(E.B_DA, l - 1, n).copy(),
                                "fprime_prev": fprime})
                E.layer_delta(l - 1, self.theta, self.grad, arch.layout, arch.act_ids,
                              arch.act_params, self.drop_p, MODE_TRAIN, n, self.offsets,
                              self.bufs, self.bn_stats)
                tensors["delta_prev"] = self._buf(E.B_DELTA, l - 1, n).copy()
            records.append(PhaseRecord("backward", l, tensors))
        loss = loss + penalty
        before = self.theta.copy()
        state_before = {k: v.copy() for k, v in self.opt.named().items()}
        lr = self.lr
        scalars = {"lr": lr, "optimizer": self.optimizer, "penalty": penalty}
        if self.reg[R_CLIP_NORM] > 0:
            norm, coef = E.clip_norm(self.grad, self.reg[R_CLIP_NORM])
            self.accum[E.A_GRAD_NORM], self.accum[E.A_CLIP_COEF] = norm, coef
            scalars.update({"grad_norm": norm, "clip_coef": coef})
        E.update_layers(arch.layout, self.opt.kind, self.theta, self.grad, self.opt.state,
                        self.opt.counters, self._hyper_vec, lr, self._opt_sc)
        scalars["t"] = int(self.opt.counters[0])
        if self.opt.kind in (ADAM, ADAMW):
            b1, b2 = self.hyper["betas"]
            t = scalars["t"]
            scalars.update({"bias_correction1": 1.0 - b1 ** t, "bias_correction2": 1.0 - b2 ** t})
        lr_ = records[1 + L]     # the loss record learns the penalty now
        records[1 + L] = PhaseRecord("loss", L - 1, lr_.tensors,
                                     {**lr_.scalars, "penalty": penalty, "total": float(loss)})
        records.append(PhaseRecord("update", None, {
            "before": before, "loss_grad": loss_grad, "grad": self.grad.copy(),
            "after": self.theta.copy(),
            **{f"state_before.{k}": v for k, v in state_before.items()},
            **{f"state.{k}": v.copy() for k, v in self.opt.named().items()}}, scalars))
        # Same bookkeeping as the fused loop.
        E.after_step(c, self.accum, loss, correct, n, penalty)
        elog = np.empty((1, E.N_ELOG))
        rows = 0
        if not self.halted and c[E.C_POS] >= len(self.train):
            val_loss = val_acc = math.nan
            if self.val is not None:
                val_loss, vc = self._evaluate(self.val, MODE_EVAL)
                if len(self.val.labels):
                    val_acc = vc / len(self.val)
            E.close_epoch(c, self.accum, self.sched, self.val is not None,
                          len(self.train.labels) > 0, val_loss, val_acc, elog, 0, self.es,
                          self.theta, self.best_theta, self.bn_run, self.best_run)
            rows = 1
        self._log(self.step - 1, np.array([loss]), elog[:rows])
        return records

    # ---------------------------------------------------------- evaluation
    def _evaluate(self, split: SplitArrays, mode: int):
        arch = self.arch
        return E.evaluate(self.theta, arch.layout, arch.act_ids, arch.act_params, self.drop_p,
                          self.reg, self.offsets, split.x, split.t, split.labels, self.xb,
                          self.tb, self.lb, self.bufs, self.bn_stats, self.bn_run,
                          self.counters, self.loss_kind, self.loss_param, self.threshold,
                          self.chunk, mode)

    def evaluate(self, split: SplitArrays) -> tuple[float, float]:
        """(mean loss, accuracy) of the current parameters on a split, in
        evaluation mode (batch norm's running statistics, no dropout). The
        loss is the data loss: the weight penalty is part of the training
        objective (and of the reported training loss), not of how well the
        network predicts."""
        split = self._cast(split)
        if len(split) == 0:
            return math.nan, math.nan
        loss, correct = self._evaluate(split, MODE_EVAL)
        acc = correct / len(split) if len(split.labels) else math.nan
        return float(loss), acc

    def loss_probe(self, dtype=np.float64) -> "Trainer":
        """A new trainer in ``dtype`` on the same network, data and settings,
        at this one's parameters, with its batch-norm statistics and its last
        step's dropout masks: for evaluating the same loss in higher
        precision (finite differences of a float32 network are mostly
        float32 rounding; in float64 they measure the gradient). Values are
        widened exactly, so the float64 loss is the float32 network's own
        function, computed without its rounding."""
        t = Trainer(self.arch, self.theta.astype(dtype), self.train, self.val,
                    loss=self.loss_name, loss_param=self.loss_param, threshold=self.threshold,
                    optimizer=self.optimizer, hyper=self.hyper,
                    batch_size=None if self.full_batch else self.batch_size, seed=self.seed)
        t.reg[...] = self.reg            # penalties, clipping, batch-norm eps
        t.drop_p[...] = self.drop_p
        t.bn_run[...] = self.bn_run
        t.bn_stats[...] = self.bn_stats
        t.bufs[E.B_MASK][...] = self.bufs[E.B_MASK]
        return t

    def batch_loss(self, split: SplitArrays) -> float:
        """The training-mode loss of the last step's batch at the current
        parameters: batch-norm statistics of this batch, the last step's
        dropout masks, running statistics untouched -- the function whose
        gradient that step computed (for gradient checks)."""
        split = self._cast(split)
        if not 0 < len(split) <= self.chunk:
            raise ValueError(f"a batch of 1..{self.chunk} rows, got {len(split)}")
        return float(self._evaluate(split, MODE_FROZEN)[0])

    def _forward_chunks(self, x: np.ndarray):
        """Forward ``x`` through the network (evaluation mode) in chunks of
        the buffer size; yields (start, n) while the buffers hold that
        chunk's values."""
        d = self.arch.n_inputs
        arch = self.arch
        for start in range(0, len(x), self.chunk):
            n = min(self.chunk, len(x) - start)
            xb = self.xb[: n * d].reshape(n, d)
            xb[...] = x[start:start + n]
            E.forward(self.theta, arch.layout, arch.act_ids, arch.act_params, self.drop_p,
                      self.reg, MODE_EVAL, xb, self.offsets, self.bufs, self.bn_stats,
                      self.bn_run, self.counters)
            yield start, n

    def _layer_out(self, l: int, n: int) -> np.ndarray:
        return self._out(l, n, MODE_EVAL)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Network output for inputs ``x`` (n, features), in chunks."""
        x = np.ascontiguousarray(x, dtype=self.dtype)
        out = np.empty((len(x), self.arch.n_outputs), self.dtype)
        last = len(self.arch.layers) - 1
        for start, n in self._forward_chunks(x):
            out[start:start + n] = self._layer_out(last, n)
        return out

    def activations(self, x_row: np.ndarray) -> list[np.ndarray]:
        """The values of one sample at the input and after every layer
        (for drawing the network); the same forward kernels as training."""
        x = np.ascontiguousarray(np.reshape(x_row, (1, -1)), dtype=self.dtype)
        for _ in self._forward_chunks(x):
            return [x[0].copy()] + [self._layer_out(l, 1)[0].copy()
                                    for l in range(len(self.arch.layers))]

    def dead_units(self, x: np.ndarray | None = None) -> list[tuple[int, int]]:
        """(layer, unit) of every ReLU unit that outputs 0 for every sample
        of ``x`` (default: the training set): a unit that no longer learns."""
        x = self.train.x if x is None else np.ascontiguousarray(x, dtype=self.dtype)
        relu = [l for l, s in enumerate(self.arch.layers) if s.activation == "relu"]
        if not relu or len(x) == 0:
            return []
        alive = {l: np.zeros(self.arch.layers[l].n_out, bool) for l in relu}
        for _, n in self._forward_chunks(x):
            for l in relu:
                alive[l] |= (self._buf(E.B_A, l, n) > 0).any(axis=0)
        return [(l, int(u)) for l in relu for u in np.flatnonzero(~alive[l])]

    def save_state(self) -> dict:
        """Everything a step changes (not the data): restore_state() goes back."""
        return {"theta": self.theta.copy(), "grad": self.grad.copy(),
                "opt": self.opt.copy(), "counters": self.counters.copy(),
                "accum": self.accum.copy(), "sched": self.sched.copy(),
                "order": self.order.copy(), "last_row": self._last_epoch_row.copy(),
                "epoch_log": deepcopy(self.epoch_log), "step_log": deepcopy(self.step_log),
                "n_events": len(self.events), "bn_run": self.bn_run.copy(),
                "bn_stats": self.bn_stats.copy(), "es": self.es.copy(),
                "best_theta": self.best_theta.copy(), "best_run": self.best_run.copy()}

    def restore_state(self, st: dict) -> None:
        self.theta[...] = st["theta"]
        self.grad[...] = st["grad"]
        self.opt = st["opt"].copy()
        for name in ("counters", "accum", "sched", "order", "bn_run", "bn_stats", "es",
                     "best_theta", "best_run"):
            getattr(self, name)[...] = st[name]
        self._last_epoch_row = st["last_row"].copy()
        self.epoch_log, self.step_log = deepcopy(st["epoch_log"]), deepcopy(st["step_log"])
        del self.events[st["n_events"]:]

    # ---------------------------------------------------------- snapshots
    def snapshot(self, histograms: bool = False, bins: int = 24,
                 include_params: bool = False) -> Snapshot:
        row = self._last_epoch_row
        acc_samples = self.accum[E.A_SAMPLES]
        layers = []
        for i, s in enumerate(self.arch.layers):
            w, b = self.weight(i), self.bias(i)
            gw, gb = self.arch.weight(self.grad, i), self.arch.bias(self.grad, i)
            gnorm = math.sqrt(float(np.dot(gw.ravel(), gw.ravel()) + np.dot(gb, gb)))
            wh = gh = ()
            if histograms:
                wh = _hist(w, bins)
                gh = _hist(gw, bins)
            layers.append(LayerStats(i, w.shape, s.activation, float(w.mean()), float(w.std()),
                                     float(np.linalg.norm(w)), float(np.linalg.norm(b)), gnorm,
                                     wh, gh))
        status = self.counters[E.C_STATUS]
        why = {E.DIVERGED_NAN: "nan", E.DIVERGED_EXPLODED: "exploded"}.get(int(status), "")
        return Snapshot(
            step=self.step, epoch=self.epoch, samples_in_epoch=int(self.counters[E.C_POS]),
            lr=self.lr, batch_size=self.batch_size,
            status={E.RUNNING: "running", E.STOPPED_EARLY: "stopped"}.get(int(status),
                                                                          "diverged"),
            penalty=float(row[E.E_PENALTY]),
            last_penalty=float(self.accum[E.A_LAST_PENALTY]) if self.step else math.nan,
            grad_norm=float(self.accum[E.A_GRAD_NORM]) if self.reg[R_CLIP_NORM] > 0 else math.nan,
            clip_coef=float(self.accum[E.A_CLIP_COEF]) if self.reg[R_CLIP_NORM] > 0 else math.nan,
            early_stop=self.early_stop_state(),
            loss=float(row[E.E_LOSS]), accuracy=float(row[E.E_ACC]),
            val_loss=float(row[E.E_VAL_LOSS]), val_accuracy=float(row[E.E_VAL_ACC]),
            last_loss=float(self.accum[E.A_LAST_LOSS]) if self.step else math.nan,
            running_loss=float(self.accum[E.A_LOSS_SUM] / acc_samples) if acc_samples else math.nan,
            layers=tuple(layers), divergence=why,
            params=self.theta.copy() if include_params else None)

    def early_stop_state(self) -> EarlyStop | None:
        es, cfg = self.es, self.early_stopping
        if not cfg or es[ES_ON] == 0:
            return None
        best_epoch = int(es[ES_BEST_EPOCH])
        stopped = int(es[ES_STOPPED_EPOCH])
        return EarlyStop(
            monitor=cfg.get("monitor", "val_loss"), patience=int(es[ES_PATIENCE]),
            wait=int(es[ES_WAIT]), best=float(es[ES_BEST] * es[ES_SIGN]) if best_epoch else math.nan,
            best_epoch=best_epoch, stopped_epoch=stopped,
            restored=bool(stopped and best_epoch and cfg.get("restore_best", True)))

    def epoch_history(self) -> dict:
        """Per-epoch columns (downsampled on long runs): epoch, step, loss, ..."""
        arr = self.epoch_log.array()
        return {name: arr[:, i] for i, name in enumerate(EPOCH_COLUMNS)}

    def step_history(self) -> tuple[np.ndarray, np.ndarray]:
        arr = self.step_log.array()
        return arr[:, 0], arr[:, 1]

    # ------------------------------------------------------ live changes
    def set_hyper(self, key: str, value) -> None:
        """Change a setting before the next step and remember it as an event.

        ``key``: ``lr``, a hyperparameter of the current optimizer,
        ``optimizer`` (a new kind: its state starts afresh, lr is kept),
        ``batch_size`` (an integer or "full"), ``schedule`` (a new kind with
        its default settings), ``schedule.<setting>``, ``l1``, ``l2``,
        ``clip_grad_norm``, ``clip_grad_value``, ``dropout.<layer>`` or
        ``early_stopping.<patience|min_delta>``."""
        if key in CRAFT:
            index, decl = CRAFT[key]
            self.reg[index] = decl.check(value)
        elif key.startswith("dropout."):
            try:
                layer = int(key.split(".", 1)[1])
            except ValueError:
                raise KeyError(key) from None
            self._set_dropout(layer, value)
        elif key in ("early_stopping.patience", "early_stopping.min_delta"):
            if self.es[ES_ON] == 0:
                raise ValueError("early stopping is off in this run")
            name = key.split(".", 1)[1]
            v = EARLY_STOPPING[name].check(value)
            self.early_stopping[name] = v
            self.es[ES_PATIENCE if name == "patience" else ES_MIN_DELTA] = v
        elif key == "optimizer":
            if value not in OPTIMIZERS:
                raise ValueError(f"unknown optimizer {value!r}")
            hyper = resolve(value, OPTIMIZERS[value][1], {"lr": self.hyper["lr"]})
            self.optimizer, self.hyper = value, hyper
            self.opt = new_state(value, hyper, self.arch.n_params, self.dtype)
        elif key == "batch_size":
            if value == "full":
                self.batch_size, self.full_batch = len(self.train), True
            else:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError("batch_size must be a positive integer or \"full\"")
                self.batch_size, self.full_batch = min(value, len(self.train)), False
            if self.batch_size > self.chunk:
                self._alloc_buffers()
        elif key == "schedule":
            if value not in SCHEDULES:
                raise ValueError(f"unknown schedule {value!r}")
            self.schedule = value
            self.schedule_params = resolve(value, SCHEDULES[value][1], {})
            self._rebuild_schedule()
        elif key.startswith("schedule."):
            name = key.split(".", 1)[1]
            decl = SCHEDULES[self.schedule][1]
            if name not in decl:
                raise KeyError(key)
            self.schedule_params[name] = decl[name].check(value)
            self._rebuild_schedule()
        else:
            decl = OPTIMIZERS[self.optimizer][1]
            if key not in decl:
                raise KeyError(key)
            self.hyper[key] = decl[key].check(value)
            if key == "lr":
                set_lr(self.sched, self.hyper["lr"])
        self._hyper_vec = pack_hyper(self.optimizer, self.hyper, self.dtype)
        self.events.append(Event(self.step, key, value))

    def _rebuild_schedule(self) -> None:
        """A schedule changed mid-run continues from the current epoch,
        scaled from the optimizer's learning rate."""
        epoch = self.sched[S_EPOCH]
        self.sched = new_schedule(self.schedule, self.schedule_params, self.hyper["lr"])
        self.sched[S_EPOCH] = epoch
        set_lr(self.sched, self.hyper["lr"])

    def set_params(self, theta: np.ndarray) -> None:
        if theta.shape != self.theta.shape:
            raise ValueError(f"expected {self.theta.shape[0]} parameters, got {theta.shape}")
        self.theta[...] = theta
        self.initial_theta[...] = theta

    def state_names(self) -> tuple:
        return STATE_NAMES[self.opt.kind]


def _hist(v: np.ndarray, bins: int):
    v = v.ravel()
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return (np.zeros(bins, np.int64), np.linspace(-1, 1, bins + 1))
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(lo, hi))
    return counts, edges
