"""What a dense layer may add around its product: batch normalisation,
dropout and a residual (skip) connection, forward and backward.

Conventions are PyTorch's:

- ``BatchNorm1d`` between the product and the activation
  (``Linear -> BatchNorm1d -> activation``): in training, each unit is
  normalised with the batch's mean and biased variance, then scaled by
  gamma (``weight``, starts at 1) and shifted by beta (``bias``, starts at
  0); the running mean and *unbiased* variance move by ``momentum`` (0.1);
  in evaluation the running statistics are used instead; ``eps`` = 1e-5.
  The layer's own bias is cancelled by the normalisation (it shifts every
  sample of a unit alike); its gradient is exactly 0.
- ``Dropout(p)`` after the activation (inverted dropout): in training each
  value is zeroed with probability p and the rest scaled by 1/(1-p), so
  evaluation needs no rescaling and simply skips it.
- a residual connection adds the layer's input to its output,
  ``out = dropout(f(BN(W x + b))) + x``, between layers of equal width.

Statistics are summed in float64, like the bias gradients.
"""

import math

import numpy as np

from .jit import kernel

# How a forward pass treats batch norm and dropout.
MODE_EVAL = 0     # running statistics, no dropout (evaluation, prediction)
MODE_TRAIN = 1    # batch statistics (running ones updated), fresh dropout masks
MODE_FROZEN = 2   # batch statistics, running ones untouched, masks reused: the
                  # loss as a function of the parameters alone (gradient checks)

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


@kernel
def batchnorm_forward(z, gamma, beta, zhat, y, mean, istd, run_mean, run_var, eps, momentum,
                      mode):
    """y = gamma * zhat + beta with zhat = (z - mean) / sqrt(var + eps).

    Training modes keep ``mean`` and ``istd`` = 1/sqrt(var + eps) of the
    batch (float64, for the backward pass) and ``zhat``."""
    n, m = z.shape
    if mode == MODE_EVAL:
        for j in range(m):
            inv = 1.0 / math.sqrt(run_var[j] + eps)
            for i in range(n):
                y[i, j] = gamma[j] * ((z[i, j] - run_mean[j]) * inv) + beta[j]
        return
    mu = np.zeros(m)
    for i in range(n):
        for j in range(m):
            mu[j] += z[i, j]
    for j in range(m):
        mu[j] /= n
    var = np.zeros(m)
    for i in range(n):
        for j in range(m):
            d = z[i, j] - mu[j]
            var[j] += d * d
    for j in range(m):
        var[j] /= n
        mean[j] = mu[j]
        istd[j] = 1.0 / math.sqrt(var[j] + eps)
    for i in range(n):
        for j in range(m):
            h = (z[i, j] - mu[j]) * istd[j]
            zhat[i, j] = h
            y[i, j] = gamma[j] * h + beta[j]
    if mode == MODE_TRAIN:
        # torch keeps the unbiased variance (n - 1) in the running estimate
        corr = n / (n - 1.0) if n > 1 else 1.0
        for j in range(m):
            run_mean[j] = (1.0 - momentum) * run_mean[j] + momentum * mu[j]
            run_var[j] = (1.0 - momentum) * run_var[j] + momentum * (var[j] * corr)


@kernel
def batchnorm_backward(dy, zhat, istd, gamma, g_gamma, g_beta, dz):
    """From dL/dy to dL/dz (``dz`` may be ``dy`` itself), and the gradients
    of gamma and beta:

        dbeta = sum_i dy,  dgamma = sum_i dy * zhat,
        dz = gamma * istd * (dy - dbeta / n - zhat * dgamma / n)."""
    n, m = dy.shape
    sb = np.zeros(m)
    sg = np.zeros(m)
    for i in range(n):
        for j in range(m):
            sb[j] += dy[i, j]
            sg[j] += dy[i, j] * zhat[i, j]
    for j in range(m):
        g_beta[j] = sb[j]
        g_gamma[j] = sg[j]
    for i in range(n):
        for j in range(m):
            dz[i, j] = gamma[j] * istd[j] * (dy[i, j] - sb[j] / n - zhat[i, j] * (sg[j] / n))


@kernel
def apply_mask(a, mask, out):
    """out = a * mask (the mask holds 0 or 1/(1-p))."""
    n, m = a.shape
    for i in range(n):
        for j in range(m):
            out[i, j] = a[i, j] * mask[i, j]


@kernel
def add_into(out, x):
    """out += x (a residual connection, forward or backward)."""
    n, m = out.shape
    for i in range(n):
        for j in range(m):
            out[i, j] += x[i, j]
