"""Learning-rate schedules, advanced once per epoch as in torch's usual loop
(``optimizer.step()`` per batch, ``scheduler.step()`` per epoch).

The rules run inside the fused training kernel (so a million one-step
epochs do not each return to Python) and follow torch.optim.lr_scheduler:
StepLR, ExponentialLR, CosineAnnealingLR (closed form) and
ReduceLROnPlateau (mode='min', threshold_mode='rel').
"""

import math

import numpy as np

from .hyper import Hyper
from .jit import kernel

CONSTANT, STEP, EXPONENTIAL, COSINE, PLATEAU = range(5)

SCHEDULES = {
    "constant": (CONSTANT, {}),
    "step": (STEP, {
        "step_size": Hyper(10, type="int", low=1, doc="epochs between decays"),
        "gamma": Hyper(0.1, low=0.0, low_open=True, doc="multiplier at each decay"),
    }),
    "exponential": (EXPONENTIAL, {
        "gamma": Hyper(0.99, low=0.0, low_open=True, doc="multiplier every epoch"),
    }),
    "cosine": (COSINE, {
        "t_max": Hyper(100, type="int", low=1, doc="epochs of a half cosine period"),
        "eta_min": Hyper(0.0, low=0.0, doc="lowest learning rate"),
    }),
    "plateau": (PLATEAU, {
        "factor": Hyper(0.1, low=0.0, high=1.0, low_open=True, high_open=True,
                        doc="multiplier when the loss stops improving"),
        "patience": Hyper(10, type="int", low=0, doc="epochs without improvement tolerated"),
        "threshold": Hyper(1e-4, low=0.0, doc="relative improvement that counts"),
        "cooldown": Hyper(0, type="int", low=0, doc="epochs to wait after a reduction"),
        "min_lr": Hyper(0.0, low=0.0, doc="lower bound of the learning rate"),
    }),
}

# Layout of the float vector a schedule lives in (parameters, then state).
S_KIND, S_A, S_B, S_C, S_D, S_E, S_BASE_LR, S_LR, S_EPOCH, S_BEST, S_BAD, S_COOL = range(12)
N_SCHED = 12


def new_schedule(name: str, params: dict, lr: float) -> np.ndarray:
    kind, _ = SCHEDULES[name]
    s = np.zeros(N_SCHED)
    s[S_KIND] = kind
    p = params
    if kind == STEP:
        s[S_A], s[S_B] = p["step_size"], p["gamma"]
    elif kind == EXPONENTIAL:
        s[S_A] = p["gamma"]
    elif kind == COSINE:
        s[S_A], s[S_B] = p["t_max"], p["eta_min"]
    elif kind == PLATEAU:
        s[S_A], s[S_B], s[S_C], s[S_D], s[S_E] = (
            p["factor"], p["patience"], p["threshold"], p["cooldown"], p["min_lr"])
    s[S_BASE_LR] = s[S_LR] = lr
    s[S_BEST] = math.inf
    return s


@kernel
def closed_form_lr(s, epoch):
    kind = int(s[S_KIND])
    lr0 = s[S_BASE_LR]
    if kind == STEP:
        return lr0 * s[S_B] ** (epoch // int(s[S_A]))
    if kind == EXPONENTIAL:
        return lr0 * s[S_A] ** epoch
    if kind == COSINE:
        eta_min = s[S_B]
        return eta_min + (lr0 - eta_min) * (1.0 + math.cos(math.pi * epoch / s[S_A])) / 2.0
    return lr0


@kernel
def schedule_end_epoch(s, metric):
    """Advance one epoch; ``metric`` is the monitored loss (plateau only)."""
    s[S_EPOCH] += 1.0
    epoch = int(s[S_EPOCH])
    if int(s[S_KIND]) != PLATEAU:
        s[S_LR] = closed_form_lr(s, epoch)
        return
    if not math.isfinite(metric):
        return
    if metric < s[S_BEST] * (1.0 - s[S_C]):
        s[S_BEST] = metric
        s[S_BAD] = 0.0
    else:
        s[S_BAD] += 1.0
    if s[S_COOL] > 0.0:
        s[S_COOL] -= 1.0
        s[S_BAD] = 0.0
    if s[S_BAD] > s[S_B]:
        new_lr = max(s[S_LR] * s[S_A], s[S_E])
        if s[S_LR] - new_lr > 1e-8:  # torch's eps: ignore negligible changes
            s[S_LR] = new_lr
        s[S_COOL] = s[S_D]
        s[S_BAD] = 0.0


def set_lr(s: np.ndarray, lr: float) -> None:
    """A live change of the learning rate: the schedule continues from it."""
    if int(s[S_KIND]) == PLATEAU:
        s[S_LR] = lr
    else:
        s[S_BASE_LR] = lr
        s[S_LR] = closed_form_lr(s, int(s[S_EPOCH]))
