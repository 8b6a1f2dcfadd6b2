"""Parameter files: one ``.npz`` array per weight and per bias, and for a
layer with batch normalisation its parameters and buffers.

Keys are PyTorch ``state_dict`` names, ``i`` counting dense layers from 0:

- ``layers.{i}.weight`` with shape ``(out, in)`` and ``layers.{i}.bias``
  with shape ``(out,)``: each pair loads straight into an ``nn.Linear``;
- a layer with batch normalisation (``Linear -> BatchNorm1d ->
  activation``) adds the ``BatchNorm1d`` as a submodule ``norm`` of the
  layer: ``layers.{i}.norm.weight`` (gamma) and ``layers.{i}.norm.bias``
  (beta), the buffers ``layers.{i}.norm.running_mean`` and
  ``layers.{i}.norm.running_var`` (unbiased, as torch keeps it), all
  ``(out,)``, and ``layers.{i}.norm.num_batches_tracked`` (an int64
  scalar: the training steps taken, which torch's ``load_state_dict``
  expects; it only matters to torch with ``momentum=None``, here the
  momentum is 0.1). These are the names ``gradcheck`` gives gamma and
  beta. In torch the layer is a module holding both, e.g. a subclass of
  ``nn.Linear`` with a ``self.norm = nn.BatchNorm1d(out)``.

Dropout and residual connections have no parameters. The running
statistics are not part of the flat parameter vector: ``load_state``
returns them next to it (``load_params`` returns the vector alone).
Files are read with ``allow_pickle=False``: a parameter file is data and
must never be able to run code.
"""

from dataclasses import dataclass
import zipfile

import numpy as np

from .atomic import atomic_open
from .errors import ParamsError

MSG = {
    "unreadable": "cannot read the file ({reason})",
    "not_npz": "not a .npz parameter file ({reason})",
    "missing": "missing (expected an array of shape {shape})",
    "extra": "unexpected array (this network has {n} layers: expected only {keys})",
    "shape": "shape {found}, expected {shape}",
    "not_numeric": "holds {dtype} values, expected numbers",
    "non_finite": "holds NaN or infinite values, expected finite numbers",
    "negative_var": "holds negative values, expected variances >= 0",
    "not_count": "holds {value}, expected a whole number >= 0",
    "bad_source": "save_params needs a trainer, or (arch, theta)",
    "theta_size": "theta has {found} values, the network has {n}",
    "need_bn_run": "this network has batch normalisation: its running statistics are part of "
                   "its parameters (save_params(path, trainer), or pass bn_run=)",
    "bn_run_size": "bn_run has {found} values, expected {n} (running means, then running "
                   "variances of {units} batch-norm units)",
}

# The batch-norm entries of a layer, after its weight and bias.
BN_PARAMS = ("weight", "bias")                      # gamma, beta (in theta)
BN_BUFFERS = ("running_mean", "running_var")        # Trainer.bn_run
BN_COUNT = "num_batches_tracked"


@dataclass(frozen=True)
class ParamState:
    """What a parameter file holds: the flat parameter vector, the
    batch-norm running statistics (running means of every batch-norm unit,
    then running variances, as ``Trainer.bn_run``; empty without batch
    norm) and the number of training steps behind them (0 when the file
    does not say)."""
    theta: np.ndarray
    bn_run: np.ndarray
    num_batches_tracked: int = 0


def param_keys(arch) -> dict:
    """``{key: shape}`` of every array a parameter file for ``arch`` holds."""
    out = {}
    for i, s in enumerate(arch.layers):
        out[f"layers.{i}.weight"] = (s.n_out, s.n_in)
        out[f"layers.{i}.bias"] = (s.n_out,)
        if s.batchnorm:
            for part in BN_PARAMS + BN_BUFFERS:
                out[f"layers.{i}.norm.{part}"] = (s.n_out,)
            out[f"layers.{i}.norm.{BN_COUNT}"] = ()
    return out


def _bn_views(arch, bn_run: np.ndarray, i: int) -> dict:
    """Layer i's running mean and variance: views into ``bn_run``."""
    s, U = arch.layers[i], arch.n_bn_units
    return {"running_mean": bn_run[s.bn_unit:s.bn_unit + s.n_out],
            "running_var": bn_run[U + s.bn_unit:U + s.bn_unit + s.n_out]}


def _check_bn_run(arch, bn_run) -> np.ndarray:
    U = arch.n_bn_units
    if U == 0:
        return np.zeros(0)
    if bn_run is None:
        raise ValueError(MSG["need_bn_run"])
    bn_run = np.asarray(bn_run)
    if bn_run.shape != (2 * U,):
        raise ValueError(MSG["bn_run_size"].format(found=bn_run.size, n=2 * U, units=U))
    return bn_run


def params_to_arrays(arch, theta, bn_run=None, num_batches_tracked: int = 0) -> dict:
    """The network's parameters as ``{key: array}`` (copies). ``bn_run``:
    the running statistics (``Trainer.bn_run``), required when ``arch``
    has batch normalisation."""
    theta = np.asarray(theta)
    if theta.shape != (arch.n_params,):
        raise ValueError(MSG["theta_size"].format(found=theta.size, n=arch.n_params))
    bn_run = _check_bn_run(arch, bn_run)
    out = {}
    for i, s in enumerate(arch.layers):
        out[f"layers.{i}.weight"] = arch.weight(theta, i).copy()
        out[f"layers.{i}.bias"] = arch.bias(theta, i).copy()
        if s.batchnorm:
            out[f"layers.{i}.norm.weight"] = arch.gamma(theta, i).copy()
            out[f"layers.{i}.norm.bias"] = arch.beta(theta, i).copy()
            for part, view in _bn_views(arch, bn_run, i).items():
                out[f"layers.{i}.norm.{part}"] = view.astype(theta.dtype)   # a copy
            out[f"layers.{i}.norm.{BN_COUNT}"] = np.array(int(num_batches_tracked), np.int64)
    return out


def save_params(path, trainer_or_arch, theta=None, *, bn_run=None,
                num_batches_tracked: int = 0) -> None:
    """Write the parameters of a trainer (``save_params(p, trainer)``: its
    running statistics and step count too) or of an architecture and flat
    vector (``save_params(p, arch, theta)`` or ``save_params(p, (arch,
    theta))``; a network with batch normalisation needs ``bn_run`` then)
    to ``path``, atomically."""
    src = trainer_or_arch
    if theta is None and isinstance(src, tuple) and len(src) == 2:
        src, theta = src
    if theta is None:
        if not (hasattr(src, "arch") and hasattr(src, "theta")):
            raise TypeError(MSG["bad_source"])
        if bn_run is None:
            bn_run = getattr(src, "bn_run", None)
            num_batches_tracked = int(getattr(src, "step", 0))
        src, theta = src.arch, src.theta
    arrays = params_to_arrays(src, theta, bn_run, num_batches_tracked)
    # np.savez on a file object: no ".npz" is appended to the name, so the
    # file is exactly where the user asked for it.
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def load_params(path, arch, dtype=np.float64) -> np.ndarray:
    """The flat parameter vector stored in ``path`` for network ``arch``
    (with batch normalisation: gamma and beta included; the running
    statistics, which are not parameters, come from ``load_state``).

    Raises ParamsError (one line: file, key, expected shape) for a file
    that is missing, not an .npz, has missing or extra arrays, wrong shapes
    or non-finite values."""
    return load_state(path, arch, dtype).theta


def _read(path) -> dict:
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ParamsError(path, None, MSG["not_npz"].format(reason="a single array"))
        with npz:
            found = {}
            for key in npz.files:
                try:
                    found[key] = npz[key]
                except ValueError as e:   # object arrays (would need pickle)
                    raise ParamsError(path, key, MSG["not_npz"].format(reason=e)) from None
    except OSError as e:
        raise ParamsError(path, None, MSG["unreadable"].format(reason=e.strerror or e)) from None
    except (ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ParamsError(path, None, MSG["not_npz"].format(reason=e)) from None
    return found


def _expected_keys_text(arch) -> str:
    L = len(arch.layers)
    text = f"layers.0.weight ... layers.{L - 1}.bias"
    bn = [i for i, s in enumerate(arch.layers) if s.batchnorm]
    if bn:
        text += " and layers.{i}.norm.* for batch-norm layers " + ", ".join(map(str, bn))
    return text


def load_state(path, arch, dtype=np.float64) -> ParamState:
    """Everything ``path`` holds for network ``arch``: the flat parameter
    vector, the batch-norm running statistics and the step count (see
    ``ParamState``). ``num_batches_tracked`` may be absent (0 then); every
    other array must be there. Raises ParamsError like ``load_params``."""
    expected = param_keys(arch)
    found = _read(path)
    optional = {k for k in expected if k.endswith("." + BN_COUNT)}
    for key, shape in expected.items():
        if key not in found and key not in optional:
            raise ParamsError(path, key, MSG["missing"].format(shape=shape))
    extra = sorted(set(found) - set(expected))
    if extra:
        raise ParamsError(path, extra[0], MSG["extra"].format(n=len(arch.layers),
                                                             keys=_expected_keys_text(arch)))

    def array(key):
        a = found[key]
        if a.shape != expected[key]:
            raise ParamsError(path, key, MSG["shape"].format(found=a.shape, shape=expected[key]))
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ParamsError(path, key, MSG["not_numeric"].format(dtype=a.dtype))
        if not np.all(np.isfinite(a)):
            raise ParamsError(path, key, MSG["non_finite"])
        return a

    theta = np.empty(arch.n_params, dtype=dtype)
    bn_run = np.empty(2 * arch.n_bn_units, dtype=dtype)
    counts = []
    for i, s in enumerate(arch.layers):
        views = [("weight", arch.weight(theta, i)), ("bias", arch.bias(theta, i))]
        if s.batchnorm:
            views += [("norm.weight", arch.gamma(theta, i)), ("norm.bias", arch.beta(theta, i))]
            views += [(f"norm.{k}", v) for k, v in _bn_views(arch, bn_run, i).items()]
        for part, view in views:
            key = f"layers.{i}.{part}"
            a = array(key)
            if part == "norm.running_var" and np.any(a < 0):
                raise ParamsError(path, key, MSG["negative_var"])
            view[...] = a
        key = f"layers.{i}.norm.{BN_COUNT}"
        if s.batchnorm and key in found:
            a = array(key)
            value = float(a)
            if value < 0 or value != int(value):
                raise ParamsError(path, key, MSG["not_count"].format(value=a.item()))
            counts.append(int(value))
    return ParamState(theta, bn_run, max(counts, default=0))
