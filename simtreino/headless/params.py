"""Parameter files: one ``.npz`` array per weight and per bias.

Keys are ``layers.{i}.weight`` with shape ``(out, in)`` and
``layers.{i}.bias`` with shape ``(out,)``, ``i`` counting dense layers from
0 -- PyTorch's own layout, so each pair loads straight into an
``nn.Linear``. Files are read with ``allow_pickle=False``: a parameter file
is data and must never be able to run code.
"""

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
    "bad_source": "save_params needs a trainer, or (arch, theta)",
    "theta_size": "theta has {found} values, the network has {n}",
}


def param_keys(arch) -> dict:
    """``{key: shape}`` of every array a parameter file for ``arch`` holds."""
    out = {}
    for i, s in enumerate(arch.layers):
        out[f"layers.{i}.weight"] = (s.n_out, s.n_in)
        out[f"layers.{i}.bias"] = (s.n_out,)
    return out


def params_to_arrays(arch, theta) -> dict:
    """The network's parameters as ``{key: array}`` (copies)."""
    theta = np.asarray(theta)
    if theta.shape != (arch.n_params,):
        raise ValueError(MSG["theta_size"].format(found=theta.size, n=arch.n_params))
    out = {}
    for i in range(len(arch.layers)):
        out[f"layers.{i}.weight"] = arch.weight(theta, i).copy()
        out[f"layers.{i}.bias"] = arch.bias(theta, i).copy()
    return out


def save_params(path, trainer_or_arch, theta=None) -> None:
    """Write the parameters of a trainer (``save_params(p, trainer)``) or of
    an architecture and flat vector (``save_params(p, arch, theta)`` or
    ``save_params(p, (arch, theta))``) to ``path``, atomically."""
    src = trainer_or_arch
    if theta is None and isinstance(src, tuple) and len(src) == 2:
        src, theta = src
    if theta is None:
        if not (hasattr(src, "arch") and hasattr(src, "theta")):
            raise TypeError(MSG["bad_source"])
        src, theta = src.arch, src.theta
    arrays = params_to_arrays(src, theta)
    # np.savez on a file object: no ".npz" is appended to the name, so the
    # file is exactly where the user asked for it.
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def load_params(path, arch, dtype=np.float64) -> np.ndarray:
    """The flat parameter vector stored in ``path`` for network ``arch``.

    Raises ParamsError (one line: file, key, expected shape) for a file
    that is missing, not an .npz, has missing or extra arrays, wrong shapes
    or non-finite values."""
    expected = param_keys(arch)
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

    for key, shape in expected.items():
        if key not in found:
            raise ParamsError(path, key, MSG["missing"].format(shape=shape))
    extra = sorted(set(found) - set(expected))
    if extra:
        keys = f"layers.0.weight ... layers.{len(arch.layers) - 1}.bias"
        raise ParamsError(path, extra[0], MSG["extra"].format(n=len(arch.layers), keys=keys))
    theta = np.empty(arch.n_params, dtype=dtype)
    for i in range(len(arch.layers)):
        for part, view in (("weight", arch.weight(theta, i)), ("bias", arch.bias(theta, i))):
            key = f"layers.{i}.{part}"
            a = found[key]
            if a.shape != expected[key]:
                raise ParamsError(path, key, MSG["shape"].format(found=a.shape,
                                                                 shape=expected[key]))
            if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
                raise ParamsError(path, key, MSG["not_numeric"].format(dtype=a.dtype))
            if not np.all(np.isfinite(a)):
                raise ParamsError(path, key, MSG["non_finite"])
            view[...] = a
    return theta
