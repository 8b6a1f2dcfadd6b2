"""Snapshots: small immutable records of where training stands.

The trainer makes them; the UI, the headless runner and the trace writer
read them. They hold plain numbers and small arrays, never UI types.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class LayerStats:
    index: int
    shape: tuple           # weight shape (out, in)
    activation: str
    weight_mean: float
    weight_std: float
    weight_norm: float
    bias_norm: float
    grad_norm: float       # of weight and bias together, last step
    weight_hist: tuple = ()   # (counts, edges) when asked for
    grad_hist: tuple = ()


@dataclass(frozen=True)
class Snapshot:
    step: int
    epoch: int                # epochs finished
    samples_in_epoch: int     # position inside the current epoch
    lr: float                 # learning rate in force for the next step
    batch_size: int
    status: str               # "running" | "diverged" | "stopped" (early stopping)
    loss: float               # mean training loss of the last finished epoch
    accuracy: float           # its training accuracy (nan for regression)
    val_loss: float
    val_accuracy: float
    last_loss: float          # loss of the last batch
    running_loss: float       # mean loss so far in the current epoch
    layers: tuple = ()
    divergence: str = ""      # why training stopped, when it did
    penalty: float = float("nan")       # mean weight penalty of the last epoch (in loss)
    last_penalty: float = float("nan")  # the last batch's
    grad_norm: float = float("nan")     # global gradient norm before clipping (clip by norm)
    clip_coef: float = float("nan")     # the factor clipping applied (1: none needed)
    early_stop: object = None           # trainer.EarlyStop, or None when off
    params: np.ndarray | None = field(default=None, compare=False)

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def stopped_early(self) -> bool:
        return self.status == "stopped"
