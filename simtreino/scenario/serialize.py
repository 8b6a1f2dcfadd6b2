"""A Scenario back to plain data (the inverse of ``load.scenario_from_dict``).

The result is fully resolved -- every default filled in -- and uses only
TOML/JSON types (str, int, float, bool, list, dict; no None, tuple or Path),
so a trace header can carry it and a replay can rebuild the same scenario:
``scenario_from_dict(scenario_to_dict(s), s.source) == s``.

Nothing machine-specific is written: a csv ``path`` or an mnist
``data_dir`` stays as it was written in the file (relative to the
scenario's folder, or "cache"), never the resolved path; and the data
itself (MNIST's images) is never written, only the settings that load it.
"""

from dataclasses import fields
from pathlib import Path

from simtreino.core.activations import ACTIVATION_PARAM

from .schema import InitSpec, Scenario

__all__ = ["scenario_to_dict"]


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    return v


def _init(spec: InitSpec) -> dict:
    return {"kind": spec.kind, **_plain(spec.params)}


def scenario_to_dict(s: Scenario) -> dict:
    if s.kind == "race":
        return race_to_dict(s)
    d = s.data
    data = {"source": d.source}
    if d.source == "csv":
        data.update(path=d.path, target=d.target, task=d.task)
    else:
        # mnist's subset, test_subset and data_dir are None when not given
        # (TOML has no null): absent again. data_dir stays as written.
        data.update(_plain({k: v for k, v in d.params.items() if v is not None}))
    data.update(
        normalize=d.normalize,
        shuffle=d.shuffle,
        split={"train": d.split.train, "val": d.split.val, "test": d.split.test},
    )
    if d.seed is not None:
        data["seed"] = d.seed

    layers = []
    for layer in s.model.layers:
        ld = {"units": layer.units, "activation": layer.activation}
        if layer.activation in ACTIVATION_PARAM and layer.activation_param is not None:
            ld[ACTIVATION_PARAM[layer.activation][0]] = layer.activation_param
        if layer.init is not None:
            ld["init"] = _init(layer.init)
        if layer.bias_init is not None:
            ld["bias_init"] = layer.bias_init
        # training craft: written only when on (absent means off)
        if layer.dropout:
            ld["dropout"] = layer.dropout
        if layer.batchnorm:
            ld["batchnorm"] = True
        if layer.residual:
            ld["residual"] = True
        layers.append(ld)

    training = {
        "epochs": s.training.epochs,
        "batch_size": "full" if s.training.batch_size is None else s.training.batch_size,
    }
    if s.training.record_every is not None:
        training["record_every"] = s.training.record_every
    for key in ("clip_grad_norm", "clip_grad_value"):
        if getattr(s.training, key):
            training[key] = getattr(s.training, key)
    es = s.training.early_stopping
    if es is not None:
        training["early_stopping"] = {"monitor": es.monitor, "patience": es.patience,
                                      "min_delta": es.min_delta,
                                      "restore_best": es.restore_best}
    regularization = {k: v for k, v in (("l1", s.regularization.l1),
                                         ("l2", s.regularization.l2)) if v}

    expect = _expect(s.expect)

    return {
        "schema_version": s.schema_version,
        "name": s.name,
        "name_pt": s.name_pt,
        "description": s.description,
        "description_pt": s.description_pt,
        "seed": s.seed,
        "dtype": s.dtype,
        "data": data,
        "model": {
            "init": _init(s.model.init),
            "bias_init": s.model.bias_init,
            "layers": layers,
        },
        "loss": {"kind": s.loss.kind, **_plain(s.loss.params)},
        "optimizer": {"kind": s.optimizer.kind, **_plain(s.optimizer.params)},
        "schedule": {"kind": s.schedule.kind, **_plain(s.schedule.params)},
        **({"regularization": regularization} if regularization else {}),
        "training": training,
        "expect": expect,
        **({"runs": _runs(s)} if s.runs else {}),
    }


def _expect(e) -> dict:
    return {f.name: list(v) if isinstance(v, tuple) else v
            for f in fields(e) if (v := getattr(e, f.name)) is not None}


def _runs(s: Scenario) -> list:
    """Each run fully resolved (its optimizer, schedule, batch size, checks)."""
    return [{"label": r.label,
             "optimizer": {"kind": r.optimizer.kind, **_plain(r.optimizer.params)},
             "schedule": {"kind": r.schedule.kind, **_plain(r.schedule.params)},
             "batch_size": "full" if r.batch_size is None else r.batch_size,
             "expect": _expect(r.expect)} for r in s.runs]


def race_to_dict(s) -> dict:
    """A RaceScenario back to plain data (``scenario_from_dict`` reads it)."""
    racers = []
    for r in s.racers:
        rd = {"label": r.label, "kind": r.optimizer.kind, **_plain(r.optimizer.params)}
        expect = {f.name: _plain(getattr(r.expect, f.name)) for f in fields(r.expect)
                  if getattr(r.expect, f.name) is not None}
        if expect:
            rd["expect"] = expect
        racers.append(rd)
    training = {"steps": s.steps}
    if s.record_every is not None:
        training["record_every"] = s.record_every
    return {
        "schema_version": s.schema_version,
        "kind": "race",
        "name": s.name,
        "name_pt": s.name_pt,
        "description": s.description,
        "description_pt": s.description_pt,
        "surface": {"function": s.surface.function, "start": list(s.surface.start),
                    "domain": list(s.surface.domain), "scale": s.surface.scale},
        "training": training,
        "racers": racers,
    }
