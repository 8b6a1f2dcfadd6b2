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
from .network import Architecture
from .optimizers import (OPTIMIZERS, STATE_NAMES, N_STEP_SCALARS, new_state, pack_hyper, ADAM,
                         ADAMW)
from .schedules import SCHEDULES, S_EPOCH, S_LR, new_schedule, set_lr
from .snapshot import LayerStats, Snapshot

# Largest slice of steps one kernel call runs: bounds the per-call logs
# (memory) and the time before a stop request is seen.
MAX_STEPS_PER_CALL = 1 << 15

EPOCH_COLUMNS = ("epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "lr")


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


class Trainer:
    def __init__(self, arch: Architecture, theta: np.ndarray, train: SplitArrays,
                 val: SplitArrays | None, *, loss: str, loss_param: float = 0.0,
                 threshold: float = 0.5, optimizer: str = "sgd", hyper: dict | None = None,
                 schedule: str = "constant", schedule_params: dict | None = None,
                 batch_size: int | None = None, shuffle: bool = False, seed: int = 0,
                 explode_factor: float = 1e6, history_capacity: int = 4096):
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
        self.epoch_log = Decimated(E.N_ELOG, history_capacity)
        self.step_log = Decimated(2, history_capacity)   # (step, batch loss)
        self._last_epoch_row = np.full(E.N_ELOG, np.nan)
        self._alloc_buffers()

    # ----------------------------------------------------------------- set-up
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
        self.zbuf = zeros(total, self.dtype)
        self.abuf = zeros(total, self.dtype)
        self.dbuf = zeros(total, self.dtype)
        self.sbuf = zeros(total, self.dtype)
        self.dl_da = zeros(cap * self.arch.n_outputs, self.dtype)
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
        return self.counters[E.C_STATUS] != E.RUNNING

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
        while done_total < n and not self.diverged and self.epoch < stop:
            k = min(n - done_total, MAX_STEPS_PER_CALL)
            losses = np.empty(k)
            elog = np.empty((k, E.N_ELOG))
            val = self.val or self._empty
            done, rows = E.train_loop(
                k, stop, self.batch_size, self.chunk, self.shuffle,
                self.theta, self.grad, self.arch.layout, self.arch.act_ids,
                self.arch.act_params, self.offsets,
                self.train.x, self.train.t, self.train.labels, val.x, val.t, val.labels,
                self.order, self.xb, self.tb, self.lb, self.zbuf, self.abuf, self.dbuf,
                self.sbuf, self.dl_da, self.loss_kind, self.loss_param, self.threshold,
                self.opt.kind, self.opt.state, self.opt.counters, self._hyper_vec,
                self._opt_sc, self.fuse_update, self.counters, self.accum, self.sched, elog,
                losses)
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
    def step_phases(self) -> list[PhaseRecord]:
        """One step, phase by phase, with a record of each phase.

        Calls the very kernels ``train_loop`` calls, so the parameters
        afterwards equal the fast path's bit for bit. The update comes after
        the whole backward pass (``update_layers``, the fast path's unfused
        order), so the records show every gradient and the optimizer state
        before and after; the fused fast path updates the same layers in the
        same order during the backward pass, and every rule is elementwise,
        so the numbers are the same."""
        if self.diverged:
            raise Divergence("training has diverged; reset it first")
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
        zs, As = [], []
        a_prev = xb
        for l, s in enumerate(arch.layers):
            z = self.zbuf[self.offsets[l]: self.offsets[l] + n * s.n_out].reshape(n, s.n_out)
            a = self.abuf[self.offsets[l]: self.offsets[l] + n * s.n_out].reshape(n, s.n_out)
            w, b = self.weight(l), self.bias(l)
            E.forward_layer(w, b, a_prev, z, a, arch.act_ids[l], arch.act_params[l])
            records.append(PhaseRecord("forward", l, {
                "input": a_prev.copy(), "weight": w.copy(), "bias": b.copy(),
                "z": z.copy(), "a": a.copy()}, {"activation": s.activation}))
            zs.append(z)
            As.append(a)
            a_prev = a
        m = arch.n_outputs
        delta = self.dbuf[self.offsets[L - 1]: self.offsets[L - 1] + n * m].reshape(n, m)
        dl_da = self.dl_da[: n * m].reshape(n, m)
        loss = E.loss_and_delta(self.loss_kind, self.loss_param, arch.act_ids[L - 1],
                                arch.act_params[L - 1], zs[-1], As[-1], tb, delta, dl_da)
        correct = E.count_correct(As[-1], lb, self.threshold) if len(lb) else 0
        records.append(PhaseRecord("loss", L - 1, {
            "output": As[-1].copy(), "targets": tb.copy(), "dloss_da": dl_da.copy(),
            "delta": delta.copy()}, {"loss": float(loss), "correct": int(correct),
                                     "kind": self.loss_name}))
        for l in range(L - 1, -1, -1):
            s = arch.layers[l]
            delta = self.dbuf[self.offsets[l]: self.offsets[l] + n * s.n_out].reshape(n, s.n_out)
            gw = arch.weight(self.grad, l)
            gb = arch.bias(self.grad, l)
            tensors = {"delta": delta.copy()}
            if l > 0:
                k = arch.layers[l - 1].n_out
                a_in = As[l - 1]
                da_prev = self.sbuf[self.offsets[l - 1]: self.offsets[l - 1] + n * k].reshape(n, k)
            else:
                a_in = xb
                da_prev = self.sbuf[:0].reshape(0, 0)
            E.backward_layer(self.weight(l), a_in, delta, gw, gb, da_prev, l > 0)
            tensors.update({"input": a_in.copy(), "grad_weight": gw.copy(),
                            "grad_bias": gb.copy()})
            if l > 0:
                prev = arch.layers[l - 1]
                dprev = self.dbuf[self.offsets[l - 1]: self.offsets[l - 1] + n * k].reshape(n, k)
                E.hidden_delta(arch.act_ids[l - 1], arch.act_params[l - 1], zs[l - 1],
                               As[l - 1], da_prev, dprev)
                fprime = np.empty_like(zs[l - 1])  # for display only
                derivative(ACTIVATIONS[prev.activation], arch.act_params[l - 1],
                           zs[l - 1], As[l - 1], fprime)
                tensors.update({"dloss_da_prev": da_prev.copy(), "fprime_prev": fprime,
                                "delta_prev": dprev.copy()})
            records.append(PhaseRecord("backward", l, tensors))
        before = self.theta.copy()
        state_before = {k: v.copy() for k, v in self.opt.named().items()}
        lr = self.lr
        E.update_layers(arch.layout, self.opt.kind, self.theta, self.grad, self.opt.state,
                        self.opt.counters, self._hyper_vec, lr, self._opt_sc)
        scalars = {"lr": lr, "optimizer": self.optimizer, "t": int(self.opt.counters[0])}
        if self.opt.kind in (ADAM, ADAMW):
            b1, b2 = self.hyper["betas"]
            t = scalars["t"]
            scalars.update({"bias_correction1": 1.0 - b1 ** t, "bias_correction2": 1.0 - b2 ** t})
        records.append(PhaseRecord("update", None, {
            "before": before, "grad": self.grad.copy(), "after": self.theta.copy(),
            **{f"state_before.{k}": v for k, v in state_before.items()},
            **{f"state.{k}": v.copy() for k, v in self.opt.named().items()}}, scalars))
        # Same bookkeeping as the fused loop.
        E.after_step(c, self.accum, loss, correct, n)
        elog = np.empty((1, E.N_ELOG))
        rows = 0
        if not self.diverged and c[E.C_POS] >= len(self.train):
            val_loss = val_acc = math.nan
            if self.val is not None:
                val_loss, vc = E.evaluate(self.theta, arch.layout, arch.act_ids, arch.act_params,
                                          self.offsets, self.val.x, self.val.t, self.val.labels,
                                          self.xb, self.tb, self.lb, self.zbuf, self.abuf,
                                          self.dbuf, self.dl_da, self.loss_kind, self.loss_param,
                                          self.threshold, self.chunk)
                if len(self.val.labels):
                    val_acc = vc / len(self.val)
            E.end_epoch(c, self.accum, self.sched, val_loss, val_acc, self.val is not None,
                        len(self.train.labels) > 0, elog, 0)
            rows = 1
            c[E.C_POS] = 0
            c[E.C_EPOCH_STEPS] = 0
        self._log(self.step - 1, np.array([loss]), elog[:rows])
        return records

    # ---------------------------------------------------------- evaluation
    def evaluate(self, split: SplitArrays) -> tuple[float, float]:
        """(mean loss, accuracy) of the current parameters on a split."""
        split = self._cast(split)
        if len(split) == 0:
            return math.nan, math.nan
        arch = self.arch
        loss, correct = E.evaluate(self.theta, arch.layout, arch.act_ids, arch.act_params,
                                   self.offsets, split.x, split.t, split.labels, self.xb,
                                   self.tb, self.lb, self.zbuf, self.abuf, self.dbuf, self.dl_da,
                                   self.loss_kind, self.loss_param, self.threshold, self.chunk)
        acc = correct / len(split) if len(split.labels) else math.nan
        return float(loss), acc

    def _forward_chunks(self, x: np.ndarray):
        """Forward ``x`` through the network in chunks of the buffer size;
        yields (start, n) while the buffers hold that chunk's values."""
        d = self.arch.n_inputs
        for start in range(0, len(x), self.chunk):
            n = min(self.chunk, len(x) - start)
            xb = self.xb[: n * d].reshape(n, d)
            xb[...] = x[start:start + n]
            E.forward(self.theta, self.arch.layout, self.arch.act_ids, self.arch.act_params,
                      xb, self.zbuf, self.abuf, self.offsets)
            yield start, n

    def _layer_out(self, l: int, n: int) -> np.ndarray:
        m = self.arch.layers[l].n_out
        return self.abuf[self.offsets[l]: self.offsets[l] + n * m].reshape(n, m)

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
                alive[l] |= (self._layer_out(l, n) > 0).any(axis=0)
        return [(l, int(u)) for l in relu for u in np.flatnonzero(~alive[l])]

    def save_state(self) -> dict:
        """Everything a step changes (not the data): restore_state() goes back."""
        return {"theta": self.theta.copy(), "grad": self.grad.copy(),
                "opt": self.opt.copy(), "counters": self.counters.copy(),
                "accum": self.accum.copy(), "sched": self.sched.copy(),
                "order": self.order.copy(), "last_row": self._last_epoch_row.copy(),
                "epoch_log": deepcopy(self.epoch_log), "step_log": deepcopy(self.step_log),
                "n_events": len(self.events)}

    def restore_state(self, st: dict) -> None:
        self.theta[...] = st["theta"]
        self.grad[...] = st["grad"]
        self.opt = st["opt"].copy()
        for name in ("counters", "accum", "sched", "order"):
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
        why = ""
        if status == E.DIVERGED_NAN:
            why = "nan"
        elif status == E.DIVERGED_EXPLODED:
            why = "exploded"
        return Snapshot(
            step=self.step, epoch=self.epoch, samples_in_epoch=int(self.counters[E.C_POS]),
            lr=self.lr, batch_size=self.batch_size,
            status="diverged" if status else "running",
            loss=float(row[E.E_LOSS]), accuracy=float(row[E.E_ACC]),
            val_loss=float(row[E.E_VAL_LOSS]), val_accuracy=float(row[E.E_VAL_ACC]),
            last_loss=float(self.accum[E.A_LAST_LOSS]) if self.step else math.nan,
            running_loss=float(self.accum[E.A_LOSS_SUM] / acc_samples) if acc_samples else math.nan,
            layers=tuple(layers), divergence=why,
            params=self.theta.copy() if include_params else None)

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
        its default settings) or ``schedule.<setting>``."""
        if key == "optimizer":
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
