"""``simtreino explain``: every number of one training step, without a screen.

``explain(scenario, step=K)`` runs K-1 steps on the fast path, then step K
phase by phase (``Trainer.step_phases``: the very kernels of the fast path,
so the numbers are the fast path's bit for bit) and returns a plain dict
(the JSON of ``--format json``, documented key by key in docs/explain.md).
``render_text(d, lang, markdown=False)`` writes the same numbers as a
walk-through with every formula and its numbers substituted, in English or
Portuguese.
"""

from pathlib import Path

import numpy as np

import simtreino
from simtreino.core.activations import ACTIVATIONS, derivative
from simtreino.core.regularization import R_CLIP_NORM, R_CLIP_VALUE, R_L1, R_L2
from simtreino.i18n import get_lang, set_lang, t

__all__ = ["explain", "explain_trainer", "trainer_before", "render_text", "fmt", "MAX_ROWS", "MAX_UNITS"]

# Text/markdown limits: layers wider than MAX_UNITS (inputs or outputs) are
# shown as tables instead of one formula per value; without --sample, a
# batch of more than MAX_ROWS samples shows its first SHOWN_ROWS rows.
MAX_UNITS = 6
MAX_ROWS = 8
SHOWN_ROWS = 4
MAX_TABLE = 12       # rows/columns of a table before "…"


# ======================================================================
# the data
# ======================================================================
def _l(a) -> list:
    """Nested lists of Python floats/ints: JSON round-trips them exactly."""
    return np.asarray(a).tolist()


def _trainer_for(scenario, init_params):
    from simtreino.scenario import find_scenario, load_scenario
    from simtreino.scenario.build import build_trainer
    from .params import load_state

    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(find_scenario(str(scenario)))
    if scenario.kind == "race":
        raise ValueError(f"{scenario.name} is an optimizer race on a 2-D function, with no "
                         "network to step through; open it with `simtreino open`")
    tr = build_trainer(scenario)
    if init_params is not None:
        if isinstance(init_params, (str, Path)):
            state = load_state(init_params, tr.arch, tr.dtype)
            theta = state.theta
            # batch norm's running statistics come with the file's parameters
            tr.bn_run[...] = state.bn_run
            tr.best_run[...] = state.bn_run
        else:
            theta = np.asarray(init_params, dtype=tr.dtype)
        tr.set_params(theta)
    return scenario, tr


def explain(scenario, *, step: int = 1, sample: int | None = None, init_params=None) -> dict:
    """The phases of step ``step`` (1-based) of ``scenario`` (a Scenario, a
    bundled name or a file) as a JSON-ready dict; ``init_params``: an .npz
    file (or flat vector) loaded over the seeded initial weights;
    ``sample``: the batch row the text walks through (recorded here, every
    row is kept). Raises ValueError for a bad step or sample."""
    scenario, tr = trainer_before(scenario, step=step, init_params=init_params)
    return explain_trainer(tr, sample=sample, name=scenario.name)


def trainer_before(scenario, *, step: int = 1, init_params=None):
    """(Scenario, trainer) with steps 1..step-1 done on the fast path: its
    next step is step ``step``. Raises ValueError for a bad step or when
    training diverges (or early stopping ends it) before it."""
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"step must be an integer >= 1, got {step!r}")
    scenario, tr = _trainer_for(scenario, init_params)
    done = tr.run_steps(int(step) - 1)
    if tr.stopped_early:
        raise ValueError(f"early stopping ended training at step {tr.step} (epoch "
                         f"{tr.epoch}), before step {step}")
    if done < step - 1 or tr.diverged:
        raise ValueError(f"training diverged at step {tr.step}, before step {step}")
    return scenario, tr


def explain_trainer(tr, *, sample: int | None = None, name: str = "") -> dict:
    """The next step of trainer ``tr`` (advanced by it) as ``explain``'s dict."""
    records = tr.step_phases()
    arch = tr.arch
    batch = records[0]
    n = int(batch.scalars["batch_size"])
    if sample is not None:
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) \
                or not 0 <= sample < n:
            raise ValueError(f"sample must be a batch row in 0..{n - 1}, got {sample!r}")
        sample = int(sample)
    phases = []
    for r in records[1:]:
        T = r.tensors
        if r.phase == "forward":
            f = {"phase": "forward", "layer": r.layer, "activation": r.scalars["activation"],
                 "input": _l(T["input"]), "weight": _l(T["weight"]),
                 "bias": _l(T["bias"]), "z": _l(T["z"]), "a": _l(T["a"])}
            _craft_forward(f, r)
            phases.append(f)
        elif r.phase == "loss":
            ls = {"phase": "loss", "layer": r.layer, "kind": r.scalars["kind"],
                  "loss": float(r.scalars["loss"]), "correct": int(r.scalars["correct"]),
                  "output": _l(T["output"]), "targets": _l(T["targets"]),
                  "dloss_da": _l(T["dloss_da"]), "delta": _l(T["delta"])}
            if tr.penalty_on:        # the weights before the step: the forward records'
                ws = [np.asarray(q.tensors["weight"], dtype=float) for q in records
                      if q.phase == "forward"]
                ls.update(penalty=float(r.scalars["penalty"]), total=float(r.scalars["total"]),
                          sum_abs_weights=float(sum(np.abs(w).sum() for w in ws)),
                          sum_sq_weights=float(sum((w * w).sum() for w in ws)))
            phases.append(ls)
        elif r.phase == "backward":
            d = {"phase": "backward", "layer": r.layer, "delta": _l(T["delta"]),
                 "input": _l(T["input"]), "grad_weight": _l(T["grad_weight"]),
                 "grad_bias": _l(T["grad_bias"])}
            # (the last three only with a penalty, or batch norm in the layer)
            for k in ("dloss_da_prev", "fprime_prev", "delta_prev", "grad_weight_data",
                      "grad_gamma", "grad_beta"):
                if k in T:
                    d[k] = _l(T[k])
            phases.append(d)
        elif r.phase == "update":
            phases.append(_update(tr, r))
    d = {
        "simtreino": simtreino.__version__,
        "scenario": name,
        "step": int(batch.scalars["step"]),
        "epoch": int(batch.scalars["epoch"]) + 1,
        "dtype": np.dtype(tr.dtype).name,
        "architecture": [arch.n_inputs] + [s.n_out for s in arch.layers],
        "activations": [s.activation for s in arch.layers],
        "loss": tr.loss_name,
        "optimizer": tr.optimizer,
        "hyper": {k: (list(v) if isinstance(v, tuple) else v) for k, v in tr.hyper.items()},
        "batch": {"size": n, "indices": _l(batch.tensors["indices"]),
                  "x": _l(batch.tensors["x"]), "targets": _l(batch.tensors["targets"]),
                  "labels": _l(batch.tensors["labels"])},
        "sample": sample,
        "phases": phases,
    }
    craft = _craft_settings(tr)
    if craft is not None:
        d["craft"] = craft
        fws = [p for p in phases if p["phase"] == "forward"]
        for prev, f in zip(fws, fws[1:]):
            if "out" in prev:      # dropout or a residual connection below
                f["input_is_out"] = True
    d["chain_rule"] = _chain_rule(tr, d)
    return d


def _craft_settings(tr) -> dict | None:
    """The training craft of the step (None for a plain network without
    penalty, clipping or dropout: its dict stays as it always was)."""
    arch = tr.arch
    c = {"l1": float(tr.reg[R_L1]), "l2": float(tr.reg[R_L2]),
         "clip_grad_norm": float(tr.reg[R_CLIP_NORM]),
         "clip_grad_value": float(tr.reg[R_CLIP_VALUE]),
         "dropout": [float(p) for p in tr.drop_p],
         "batchnorm": [bool(s.batchnorm) for s in arch.layers],
         "residual": [bool(s.residual) for s in arch.layers]}
    on = (c["l1"] > 0 or c["l2"] > 0 or c["clip_grad_norm"] > 0 or c["clip_grad_value"] > 0
          or any(p > 0 for p in c["dropout"]) or any(c["batchnorm"]) or any(c["residual"]))
    return c if on else None


def _craft_forward(f: dict, r) -> None:
    """Batch norm, dropout and the residual connection of a forward record;
    keys only when the layer has them (a plain layer's dict is unchanged)."""
    T, sc = r.tensors, r.scalars
    if sc.get("batchnorm"):
        f["batchnorm"] = True
        for k in ("batch_mean", "batch_istd", "gamma", "beta", "z_hat", "y"):
            f[k] = _l(T[k])
    if sc.get("dropout", 0.0) > 0:
        f["dropout"] = float(sc["dropout"])
        f["mask"] = _l(T["mask"])
    if sc.get("residual"):
        f["residual"] = True
    if "out" in T:
        f["out"] = _l(T["out"])


def _update(tr, r) -> dict:
    arch = tr.arch
    T = r.tensors
    names = [k.split(".", 1)[1] for k in T if k.startswith("state.")]
    out = {"phase": "update", "optimizer": r.scalars["optimizer"], "lr": float(r.scalars["lr"]),
           "t": int(r.scalars["t"]),
           "state_before": {k: _l(T[f"state_before.{k}"]) for k in names},
           "state": {k: _l(T[f"state.{k}"]) for k in names}}
    if "bias_correction1" in r.scalars:
        out["bias_corrections"] = [float(r.scalars["bias_correction1"]),
                                   float(r.scalars["bias_correction2"])]
    if "grad_norm" in r.scalars:     # clipping by norm
        out["grad_norm"] = float(r.scalars["grad_norm"])
        out["clip_coef"] = float(r.scalars["clip_coef"])
    clipping = tr.reg[R_CLIP_NORM] > 0 or tr.reg[R_CLIP_VALUE] > 0
    layers = []
    for i in range(len(arch.layers)):
        e = {"layer": i}
        parts = [("weight", arch.weight), ("bias", arch.bias)]
        if arch.layers[i].batchnorm:
            parts += [("gamma", arch.gamma), ("beta", arch.beta)]
        for part, get in parts:
            e[f"{part}_before"] = _l(get(T["before"], i))
            e[f"{part}_after"] = _l(get(T["after"], i))
            e[f"grad_{part}"] = _l(get(T["grad"], i))
            if clipping:      # the gradient before clipping
                e[f"loss_grad_{part}"] = _l(get(T["loss_grad"], i))
        e["state_before"] = {k: {part: _l(get(T[f"state_before.{k}"], i)) for part, get in parts}
                             for k in names}
        e["state"] = {k: {part: _l(get(T[f"state.{k}"], i)) for part, get in parts}
                      for k in names}
        layers.append(e)
    out["layers"] = layers
    return out


def _chain_rule(tr, d) -> dict | None:
    """∂E/∂w of layer 0's weight [0, 0] (from x₁ to h₁) as the product of
    the course's five factors, per sample: only for a 2-layer network with
    one output and an elementwise output activation."""
    arch = tr.arch
    if len(arch.layers) != 2 or arch.n_outputs != 1 or arch.layers[1].activation == "softmax":
        return None
    c = d.get("craft")
    if c and (any(c["batchnorm"]) or any(c["residual"]) or any(p > 0 for p in c["dropout"])):
        return None     # the course's five factors describe a plain layer
    ph = {(p["phase"], p.get("layer")): p for p in d["phases"]}
    f0, f1 = ph[("forward", 0)], ph[("forward", 1)]
    loss, b1, b0 = ph[("loss", 1)], ph[("backward", 1)], ph[("backward", 0)]
    z_o = np.asarray(f1["z"], dtype=tr.dtype)
    a_o = np.asarray(f1["a"], dtype=tr.dtype)
    do_dnet = np.empty_like(z_o)
    derivative(ACTIVATIONS[arch.layers[1].activation], arch.act_params[1], z_o, a_o, do_dnet)
    w_o1 = f1["weight"][0][0]
    rows = []
    total = 0.0
    for s in range(len(z_o)):
        f = {"dE_do": loss["dloss_da"][s][0], "do_dnet_o": float(do_dnet[s, 0]),
             "dnet_o_dh1": w_o1, "dh1_dnet_h1": b1["fprime_prev"][s][0],
             "dnet_h1_dw11": f0["input"][s][0]}
        p = f["dE_do"] * f["do_dnet_o"] * f["dnet_o_dh1"] * f["dh1_dnet_h1"] * f["dnet_h1_dw11"]
        f["product"] = p
        total += p
        rows.append(f)
    return {"weight": "layers.0.weight[0,0]", "layer": 0, "row": 0, "col": 0,
            "factors": ["dE_do", "do_dnet_o", "dnet_o_dh1", "dh1_dnet_h1", "dnet_h1_dw11"],
            "per_sample": rows, "sum": total,
            # the data loss's gradient (with a penalty, the penalty's part comes on top)
            "grad_weight": b0.get("grad_weight_data", b0["grad_weight"])[0][0]}


# ======================================================================
# the text
# ======================================================================
_SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_ACT = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu",
        "elu": "elu", "identity": "id", "softmax": "softmax"}
_FPRIME = {"sigmoid": "σ′(z) = a(1 − a)", "tanh": "tanh′(z) = 1 − a²",
           "relu": "relu′(z) = 1 if z > 0 else 0", "identity": "id′(z) = 1",
           "leaky_relu": "leaky_relu′(z) = 1 if z > 0 else α", "elu": "elu′(z) = 1 if z > 0 else a + α"}
_LOSS = {
    "mse": "E = 1/(n·m) Σₛ Σⱼ (oₛⱼ − yₛⱼ)²",
    "mae": "E = 1/(n·m) Σₛ Σⱼ |oₛⱼ − yₛⱼ|",
    "huber": "E = 1/(n·m) Σₛ Σⱼ huber_δ(oₛⱼ − yₛⱼ)",
    "bce": "E = −1/(n·m) Σₛ Σⱼ [yₛⱼ·log σ(zₛⱼ) + (1 − yₛⱼ)·log(1 − σ(zₛⱼ))]",
    "cross_entropy": "E = −1/n Σₛ Σⱼ yₛⱼ·log softmax(zₛ)ⱼ",
    "kl_div": "E = 1/(n·m) Σₛ Σⱼ yₛⱼ·(log yₛⱼ − log softmax(zₛ)ⱼ)",
    "hinge": "E = 1/(n·m) Σₛ Σⱼ max(0, 1 − yₛⱼ·oₛⱼ)",
}
_DELTA = {
    "bce": "δ = ∂E/∂z = (o − y)/(n·m)",
    "cross_entropy": "δ = ∂E/∂z = (softmax(z) − y)/n",
    "kl_div": "δ = ∂E/∂z = (softmax(z)·Σy − y)/(n·m)",
}
_RULES = {
    "sgd": "w ← w − η·∂E/∂w",
    "sgd_momentum": "b ← μ·b + (1 − dampening)·g;  w ← w − η·b   (g = ∂E/∂w + λw; b = g at t = 1)",
    "sgd_nesterov": "b ← μ·b + (1 − dampening)·g;  w ← w − η·(g + μ·b)   (g = ∂E/∂w + λw)",
    "adam": "m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  w ← w − η·(m/(1 − β₁ᵗ)) / (√(v/(1 − β₂ᵗ)) + ε)",
    "adamw": "w ← w(1 − ηλ);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  w ← w − η·(m/(1 − β₁ᵗ)) / (√(v/(1 − β₂ᵗ)) + ε)",
    "rmsprop": "s ← αs + (1 − α)g²;  w ← w − η·g/(√s + ε)",
    "adagrad": "G ← G + g²;  w ← w − η·g/(√G + ε)",
    "adadelta": "s ← ρs + (1 − ρ)g²;  Δ = √(u + ε)/√(s + ε)·g;  u ← ρu + (1 − ρ)Δ²;  w ← w − η·Δ",
}


def fmt(x) -> str:
    """A number as the walk-through prints it: 4 decimals, or 4 significant
    digits in scientific notation when very small or large."""
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if x == 0.0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.4f}"
    return f"{x:.4e}"


def _p(x) -> str:
    return f"({fmt(x)})"


def _idx(*ns) -> str:
    """1-based subscript of 0-based indices: _idx(0, 1) = '₁₂'."""
    ns = [n + 1 for n in ns]
    sep = "" if all(n < 10 for n in ns) else ","
    return sep.join(str(n) for n in ns).translate(_SUB)


def _sup(layer: int) -> str:
    return str(layer + 1).translate(_SUP)


def _in_name(layer: int, k: int) -> str:
    return f"x{_idx(k)}" if layer == 0 else f"a{_sup(layer - 1)}{_idx(k)}"


class _Out:
    def __init__(self, markdown: bool):
        self.md = markdown
        self.lines: list[str] = []

    def heading(self, text: str, level: int = 2) -> None:
        if self.lines:
            self.lines.append("")
        if self.md:
            self.lines.append("#" * level + " " + text)
            self.lines.append("")
        else:
            self.lines.append(text)
            self.lines.append(("=" if level <= 1 else "-") * len(text))

    def line(self, text: str = "") -> None:
        # markdown: formulas in code spans keep their spacing and symbols
        self.lines.append(f"    {text}" if self.md and text else (f"  {text}" if text else ""))

    def note(self, text: str) -> None:
        self.lines.append(f"*{text}*" if self.md else text)

    def table(self, head: list, rows: list) -> None:
        rows = [[str(c) for c in r] for r in rows]
        head = [str(h) for h in head]
        if self.md:
            if self.lines and self.lines[-1] != "":
                self.lines.append("")
            self.lines.append("| " + " | ".join(head) + " |")
            self.lines.append("|" + "|".join("---" for _ in head) + "|")
            for r in rows:
                self.lines.append("| " + " | ".join(r) + " |")
            self.lines.append("")
            return
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                  for i, h in enumerate(head)]
        self.lines.append("  " + "  ".join(h.rjust(w) for h, w in zip(head, widths)))
        for r in rows:
            self.lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)))

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def _rows(d) -> tuple[list[int], int]:
    """(batch rows to show per sample, rows left out)."""
    n = d["batch"]["size"]
    if d["sample"] is not None:
        return [d["sample"]], 0
    if n <= MAX_ROWS:
        return list(range(n)), 0
    return list(range(SHOWN_ROWS)), n - SHOWN_ROWS


def render_text(d: dict, lang: str | None = None, markdown: bool = False) -> str:
    """The walk-through of ``explain``'s dict as plain text or markdown, in
    ``lang`` (en | pt; default: the current language)."""
    before = get_lang()
    if lang is not None:
        set_lang(lang)
    try:
        return _render(d, markdown)
    finally:
        set_lang(before)


def _render(d: dict, markdown: bool) -> str:
    o = _Out(markdown)
    o.heading(t("explain.title", scenario=d["scenario"], step=d["step"], epoch=d["epoch"]), 1)
    o.note(t("explain.network", arch="-".join(map(str, d["architecture"])), loss=d["loss"],
             optimizer=d["optimizer"], dtype=d["dtype"]))
    rows, cut = _rows(d)
    b = d["batch"]
    o.note(t("explain.batch", n=b["size"], indices=", ".join(map(str, b["indices"][:16]))
             + (" …" if b["size"] > 16 else "")))
    if d["sample"] is not None:
        o.note(t("explain.sample_note", sample=d["sample"]))
    elif cut:
        o.note(t("explain.rows_cut", n=cut))
    o.note(t("explain.whole_batch", n=b["size"]))
    o.note(t("explain.notation"))

    for p in d["phases"]:
        if p["phase"] == "forward":
            _forward(o, p, rows)
        elif p["phase"] == "loss":
            _loss(o, p, d, rows)
        elif p["phase"] == "backward":
            _backward(o, p, d, rows)
        elif p["phase"] == "update":
            _update_text(o, p, d)
    if d.get("chain_rule"):
        _chain_text(o, d)
    return o.text()


def phase_titles(d: dict) -> list[str]:
    """One short title per page of the walk-through: each phase, then the
    chain rule when there is one (the step-through inspector's pages)."""
    out = []
    for p in d["phases"]:
        kind = p["phase"]
        out.append(t(f"phase.{kind}") + (f" {p['layer'] + 1}" if kind in ("forward", "backward")
                                          else ""))
    if d.get("chain_rule"):
        out.append("∂E/∂w₁₁")
    return out


def render_phase(d: dict, i: int, lang: str | None = None) -> str:
    """Page ``i`` of the walk-through (see ``phase_titles``) as plain text."""
    before = get_lang()
    if lang is not None:
        set_lang(lang)
    try:
        o = _Out(False)
        rows, _ = _rows(d)
        if i < len(d["phases"]):
            p = d["phases"][i]
            {"forward": lambda: _forward(o, p, rows), "loss": lambda: _loss(o, p, d, rows),
             "backward": lambda: _backward(o, p, d, rows),
             "update": lambda: _update_text(o, p, d)}[p["phase"]]()
        elif d.get("chain_rule"):
            _chain_text(o, d)
        return o.text()
    finally:
        set_lang(before)


def _sample_heading(o, s, x_row) -> None:
    o.line(t("explain.sample", s=s) + ": x = (" + ", ".join(fmt(v) for v in x_row) + ")")


def _forward(o, p, rows) -> None:
    if _is_craft_layer(p):
        _forward_craft(o, p, rows)
        return
    l, act = p["layer"], p["activation"]
    W, bias = p["weight"], p["bias"]
    n_out, n_in = len(W), len(W[0])
    o.heading(t("explain.forward", layer=l + 1, act=act, n_in=n_in, n_out=n_out))
    sup = _sup(l)
    if max(n_in, n_out) > MAX_UNITS:
        o.note(t("explain.wide", formula=f"z{sup}ⱼ = Σₖ w{sup}ⱼₖ·inₖ + b{sup}ⱼ,  a{sup}ⱼ = "
                 f"{_ACT.get(act, act)}(z{sup}ⱼ)"))
        units = range(min(n_out, MAX_TABLE))
        for s in rows:
            o.line(t("explain.sample", s=s))
            o.table([t("explain.col_unit"), "z", "a"],
                    [[j + 1, fmt(p["z"][s][j]), fmt(p["a"][s][j])] for j in units])
            if n_out > MAX_TABLE:
                o.note(t("explain.more", n=n_out - MAX_TABLE))
        return
    f = _ACT.get(act, act)
    for s in rows:
        x = p["input"][s]
        o.line(t("explain.sample", s=s) + ":")
        for j in range(n_out):
            names = " + ".join(f"w{sup}{_idx(j, k)}·{_in_name(l, k)}" for k in range(n_in))
            nums = " + ".join(f"{_p(W[j][k])}{_p(x[k])}" for k in range(n_in))
            o.line(f"z{sup}{_idx(j)} = {names} + b{sup}{_idx(j)} = {nums} + {fmt(bias[j])}"
                   f" = {fmt(p['z'][s][j])}")
        for j in range(n_out):
            if act == "softmax":
                o.line(f"a{sup}{_idx(j)} = softmax(z{sup}){_idx(j)} = {fmt(p['a'][s][j])}")
            else:
                o.line(f"a{sup}{_idx(j)} = {f}(z{sup}{_idx(j)}) = {f}({fmt(p['z'][s][j])})"
                       f" = {fmt(p['a'][s][j])}")


def _loss(o, p, d, rows) -> None:
    kind = p["kind"]
    out, y = p["output"], p["targets"]
    n, m = len(out), len(out[0])
    L = p["layer"]
    sup = _sup(L)
    o.heading(t("explain.loss", kind=kind))
    o.line(_LOSS.get(kind, "E"))
    if kind == "mse" and n * m <= MAX_ROWS:
        terms = " + ".join(f"({fmt(out[s][j])} − {fmt(y[s][j])})²"
                           for s in range(n) for j in range(m))
        o.line(f"E = 1/({n}·{m})·[{terms}] = {fmt(p['loss'])}")
    else:
        o.line(f"E = {fmt(p['loss'])}   (n = {n}, m = {m})")
    if "penalty" in p:
        _loss_penalty(o, p, d)
    o.note(t("explain.output_is", sup=sup))
    units = range(min(m, MAX_TABLE))
    act = d["activations"][L]
    for s in rows:
        o.line(t("explain.sample", s=s) + ":")
        for j in units:
            dd, dl = p["delta"][s][j], p["dloss_da"][s][j]
            oj, yj = out[s][j], y[s][j]
            if kind == "mse":
                o.line(f"∂E/∂o{_idx(j)} = 2(o − y)/(n·m) = 2({fmt(oj)} − {fmt(yj)})/({n}·{m})"
                       f" = {fmt(dl)}")
            else:
                o.line(f"∂E/∂o{_idx(j)} = {fmt(dl)}")
            if kind in _DELTA:
                o.line(f"δ{sup}{_idx(j)} = {_DELTA[kind]} = {fmt(dd)}")
            else:
                fp = dd / dl if dl else float("nan")
                fp_txt = _FPRIME.get(act, "f′(z)")
                if dl:
                    o.line(f"δ{sup}{_idx(j)} = ∂E/∂o{_idx(j)} · f′(z{sup}{_idx(j)}) = "
                           f"{_p(dl)}{_p(fp)} = {fmt(dd)}   [{fp_txt}]")
                else:
                    o.line(f"δ{sup}{_idx(j)} = ∂E/∂o{_idx(j)} · f′(z{sup}{_idx(j)}) = {fmt(dd)}")
        if m > MAX_TABLE:
            o.note(t("explain.more", n=m - MAX_TABLE))


def _backward(o, p, d, rows) -> None:
    if _backward_is_craft(p, d):
        _backward_craft(o, p, d, rows)
        return
    l = p["layer"]
    sup = _sup(l)
    gw, gb, delta, inp = p["grad_weight"], p["grad_bias"], p["delta"], p["input"]
    n_out, n_in = len(gw), len(gw[0])
    n = len(delta)
    o.heading(t("explain.backward", layer=l + 1))
    o.note(t("explain.grad_sum", n=n))
    wide = max(n_in, n_out) > MAX_UNITS
    if wide:
        o.line(f"∂E/∂w{sup}ⱼₖ = Σₛ δ{sup}ₛⱼ·inₛₖ,   ∂E/∂b{sup}ⱼ = Σₛ δ{sup}ₛⱼ")
        jj, kk = range(min(n_out, MAX_TABLE)), range(min(n_in, MAX_TABLE))
        o.table(["∂E/∂w"] + [_in_name(l, k) for k in kk] + ["∂E/∂b"],
                [[f"{_idx(j)}"] + [fmt(gw[j][k]) for k in kk] + [fmt(gb[j])] for j in jj])
        if n_out > MAX_TABLE or n_in > MAX_TABLE:
            o.note(t("explain.table_cut", rows=n_out, cols=n_in))
    else:
        show_terms = n <= MAX_ROWS
        for j in range(n_out):
            for k in range(n_in):
                head = f"∂E/∂w{sup}{_idx(j, k)} = Σₛ δ{sup}{_idx(j)}·{_in_name(l, k)}"
                if show_terms:
                    terms = " + ".join(f"{_p(delta[s][j])}{_p(inp[s][k])}" for s in range(n))
                    o.line(f"{head} = {terms} = {fmt(gw[j][k])}")
                else:
                    o.line(f"{head} = {fmt(gw[j][k])}")
            head = f"∂E/∂b{sup}{_idx(j)} = Σₛ δ{sup}{_idx(j)}"
            if show_terms:
                terms = " + ".join(_p(delta[s][j]) for s in range(n))
                o.line(f"{head} = {terms} = {fmt(gb[j])}")
            else:
                o.line(f"{head} = {fmt(gb[j])}")
    if "delta_prev" not in p:
        return
    # δ of the layer below
    W = next(q for q in d["phases"] if q["phase"] == "forward" and q["layer"] == l)["weight"]
    act = d["activations"][l - 1]
    ps = _sup(l - 1)
    o.note(t("explain.delta_prev", layer=l, fprime=_FPRIME.get(act, "f′(z)")))
    if wide:
        kk = range(min(n_in, MAX_TABLE))
        for s in rows:
            o.line(t("explain.sample", s=s))
            o.table([t("explain.col_unit"), "∂E/∂a", "f′(z)", "δ"],
                    [[k + 1, fmt(p["dloss_da_prev"][s][k]), fmt(p["fprime_prev"][s][k]),
                      fmt(p["delta_prev"][s][k])] for k in kk])
        return
    for s in rows:
        o.line(t("explain.sample", s=s) + ":")
        for k in range(n_in):
            names = " + ".join(f"δ{sup}{_idx(j)}·w{sup}{_idx(j, k)}" for j in range(n_out))
            nums = " + ".join(f"{_p(delta[s][j])}{_p(W[j][k])}" for j in range(n_out))
            o.line(f"∂E/∂a{ps}{_idx(k)} = {names} = {nums} = {fmt(p['dloss_da_prev'][s][k])}")
            o.line(f"δ{ps}{_idx(k)} = ∂E/∂a{ps}{_idx(k)} · f′(z{ps}{_idx(k)}) = "
                   f"{_p(p['dloss_da_prev'][s][k])}{_p(p['fprime_prev'][s][k])} = "
                   f"{fmt(p['delta_prev'][s][k])}")


def _flat(x) -> list:
    return np.asarray(x, dtype=float).ravel().tolist()


def _update_text(o, p, d) -> None:
    opt, lr = p["optimizer"], p["lr"]
    h = d["hyper"]
    o.heading(t("explain.update", optimizer=opt, lr=fmt(lr)))
    plain = opt == "sgd" and not h.get("momentum") and not h.get("weight_decay")
    if plain:
        rule = _RULES["sgd"]
    elif opt in ("sgd", "momentum", "nesterov"):
        rule = _RULES["sgd_nesterov" if h.get("nesterov") else "sgd_momentum"]
    else:
        rule = _RULES.get(opt, "")
    c = d.get("craft") or {}
    if c.get("clip_grad_norm", 0.0) > 0 or c.get("clip_grad_value", 0.0) > 0:
        rule = rule.replace("η·∂E/∂w", "η·g")      # g: the clipped gradient
    o.line(rule)
    o.note(t("explain.hyper", values=", ".join(f"{k} = {v}" for k, v in h.items())))
    if "bias_corrections" in p:
        c1, c2 = p["bias_corrections"]
        o.note(t("explain.bias_corr", t=p["t"], c1=fmt(c1), c2=fmt(c2)))
    _update_clipping(o, p, d)
    # states that stay zero (amsgrad's max when it is off, ...) say nothing
    states = [k for k in p["state"]
              if any(p["state"][k]) or any(p["state_before"][k])]
    for e in p["layers"]:
        l = e["layer"]
        sup = _sup(l)
        W = e["weight_before"]
        n_out, n_in = len(W), len(W[0])
        names = [f"w{sup}{_idx(j, k)}" for j in range(n_out) for k in range(n_in)] + \
                [f"b{sup}{_idx(j)}" for j in range(n_out)]
        before = _flat(e["weight_before"]) + _flat(e["bias_before"])
        after = _flat(e["weight_after"]) + _flat(e["bias_after"])
        grad = _flat(e["grad_weight"]) + _flat(e["grad_bias"])
        sb = {k: _flat(e["state_before"][k]["weight"]) + _flat(e["state_before"][k]["bias"])
              for k in states}
        sa = {k: _flat(e["state"][k]["weight"]) + _flat(e["state"][k]["bias"]) for k in states}
        if "gamma_before" in e:       # batch norm's γ and β, learned like the rest
            for part, letter in (("gamma", "γ"), ("beta", "β")):
                names += [f"{letter}{sup}{_idx(j)}" for j in range(n_out)]
                before += _flat(e[f"{part}_before"])
                after += _flat(e[f"{part}_after"])
                grad += _flat(e[f"grad_{part}"])
                for k in states:
                    sb[k] += _flat(e["state_before"][k][part])
                    sa[k] += _flat(e["state"][k][part])
        o.line(t("explain.layer", layer=l + 1) + ":")
        shown = range(min(len(names), MAX_TABLE if max(n_in, n_out) > MAX_UNITS else 10 ** 9))
        lgrad = _loss_grads(e)        # with clipping: ∂E/∂w before it (g: after)
        if plain and lgrad is not None:
            for i in shown:
                o.line(f"{names[i]} ← {names[i]} − η·g = {fmt(before[i])} − {_p(lr)}{_p(grad[i])}"
                       f" = {fmt(after[i])}   (∂E/∂{names[i]} = {fmt(lgrad[i])})")
        elif plain:
            for i in shown:
                o.line(f"{names[i]} ← {names[i]} − η·∂E/∂{names[i]} = {fmt(before[i])} − "
                       f"{_p(lr)}{_p(grad[i])} = {fmt(after[i])}")
        else:
            head = [t("explain.col_param"), t("explain.col_before"), "∂E/∂w"]
            if lgrad is not None:
                head.append("g")
            for k in states:
                head += [f"{k} ({t('explain.col_before')})", k]
            head.append(t("explain.col_after"))
            table = []
            for i in shown:
                row = [names[i], fmt(before[i])]
                row += [fmt(grad[i])] if lgrad is None else [fmt(lgrad[i]), fmt(grad[i])]
                for k in states:
                    row += [fmt(sb[k][i]), fmt(sa[k][i])]
                row.append(fmt(after[i]))
                table.append(row)
            o.table(head, table)
        if len(shown) < len(names):
            o.note(t("explain.more", n=len(names) - len(shown)))
        _clamped(o, e, names, d)


# ----------------------------------------------------------------------
# training craft: batch norm, dropout, residual connections, penalties,
# clipping (a plain network never comes here: its pages stay as they were)
# ----------------------------------------------------------------------
def _is_craft_layer(p) -> bool:
    return bool(p.get("batchnorm") or p.get("dropout") or p.get("residual")
                or p.get("input_is_out"))


def _phase(d, kind: str, layer: int):
    return next((q for q in d["phases"] if q["phase"] == kind and q.get("layer") == layer), None)


def _in_c(l: int, k: int, out_in: bool) -> str:
    """The name of input k of layer l: out of the layer below when it has
    dropout or a residual connection."""
    return f"out{_sup(l - 1)}{_idx(k)}" if out_in and l > 0 else _in_name(l, k)


def _act_name(p) -> str:
    """The activation's symbol; with batch norm, σ is the standard deviation."""
    act = p["activation"]
    return act if p.get("batchnorm") and act == "sigmoid" else _ACT.get(act, act)


def _pipeline(p) -> tuple[str, str]:
    """(the layer's formulas in order, the name of what the next layer gets)."""
    sup, f = _sup(p["layer"]), _act_name(p)
    steps = [f"z{sup} = W{sup}·in + b{sup}"]
    if p.get("batchnorm"):
        steps += [f"ẑ{sup} = (z{sup} − μ{sup})·(1/σ{sup})", f"y{sup} = γ{sup}·ẑ{sup} + β{sup}",
                  f"a{sup} = {f}(y{sup})"]
    else:
        steps.append(f"a{sup} = {f}(z{sup})")
    if "out" not in p:
        return " → ".join(steps), f"a{sup}"
    rhs = f"a{sup}·mask" if p.get("dropout") else f"a{sup}"
    steps.append(f"out{sup} = {rhs}" + (" + in" if p.get("residual") else ""))
    return " → ".join(steps), f"out{sup}"


def _forward_craft(o, p, rows) -> None:
    l, act = p["layer"], p["activation"]
    W, bias = p["weight"], p["bias"]
    n_out, n_in = len(W), len(W[0])
    n = len(p["z"])
    sup, f = _sup(l), _act_name(p)
    bn, drop, res = p.get("batchnorm", False), p.get("dropout", 0.0), p.get("residual", False)
    out = p.get("out")
    o.heading(t("explain.forward", layer=l + 1, act=act, n_in=n_in, n_out=n_out))
    steps, out_name = _pipeline(p)
    o.note(t("explain.pipeline", steps=steps, out=out_name))
    if bn:
        o.note(t("explain.bn_stats", n=n))
    if drop:
        o.note(t("explain.dropout", p=f"{drop:g}", keep=fmt(1.0 / (1.0 - drop))))
    if res:
        o.note(t("explain.residual"))
    wide = max(n_in, n_out) > MAX_UNITS
    units = range(min(n_out, MAX_TABLE)) if wide else range(n_out)
    if bn:
        mu, istd, g, b = p["batch_mean"], p["batch_istd"], p["gamma"], p["beta"]
        if wide:
            o.table([t("explain.col_unit"), "μ", "1/σ", "γ", "β"],
                    [[j + 1, fmt(mu[j]), fmt(istd[j]), fmt(g[j]), fmt(b[j])] for j in units])
        else:
            for j in units:
                i = _idx(j)
                o.line(f"μ{sup}{i} = {fmt(mu[j])},  1/σ{sup}{i} = {fmt(istd[j])},  "
                       f"γ{sup}{i} = {fmt(g[j])},  β{sup}{i} = {fmt(b[j])}")
    if wide:
        head = ([t("explain.col_unit"), "z"] + (["ẑ", "y"] if bn else []) + ["a"]
                + (["mask"] if drop else []) + (["out"] if out is not None else []))
        for s in rows:
            o.line(t("explain.sample", s=s))
            table = []
            for j in units:
                row = [j + 1, fmt(p["z"][s][j])]
                if bn:
                    row += [fmt(p["z_hat"][s][j]), fmt(p["y"][s][j])]
                row.append(fmt(p["a"][s][j]))
                if drop:
                    row.append(fmt(p["mask"][s][j]))
                if out is not None:
                    row.append(fmt(out[s][j]))
                table.append(row)
            o.table(head, table)
            if n_out > MAX_TABLE:
                o.note(t("explain.more", n=n_out - MAX_TABLE))
        return
    out_in = p.get("input_is_out", False)
    for s in rows:
        x = p["input"][s]
        o.line(t("explain.sample", s=s) + ":")
        for j in range(n_out):
            names = " + ".join(f"w{sup}{_idx(j, k)}·{_in_c(l, k, out_in)}" for k in range(n_in))
            nums = " + ".join(f"{_p(W[j][k])}{_p(x[k])}" for k in range(n_in))
            o.line(f"z{sup}{_idx(j)} = {names} + b{sup}{_idx(j)} = {nums} + {fmt(bias[j])}"
                   f" = {fmt(p['z'][s][j])}")
        if bn:
            for j in range(n_out):
                i, zh = _idx(j), p["z_hat"][s][j]
                o.line(f"ẑ{sup}{i} = (z{sup}{i} − μ{sup}{i})·(1/σ{sup}{i}) = "
                       f"({fmt(p['z'][s][j])} − {fmt(mu[j])}){_p(istd[j])} = {fmt(zh)}")
                o.line(f"y{sup}{i} = γ{sup}{i}·ẑ{sup}{i} + β{sup}{i} = {_p(g[j])}{_p(zh)} + "
                       f"{fmt(b[j])} = {fmt(p['y'][s][j])}")
        pre = "y" if bn else "z"
        for j in range(n_out):
            i = _idx(j)
            o.line(f"a{sup}{i} = {f}({pre}{sup}{i}) = {f}({fmt(p[pre][s][j])}) = "
                   f"{fmt(p['a'][s][j])}")
        if out is None:
            continue
        for j in range(n_out):
            i, a = _idx(j), p["a"][s][j]
            if drop and res:
                o.line(f"out{sup}{i} = a{sup}{i}·mask + {_in_c(l, j, out_in)} = "
                       f"{_p(a)}{_p(p['mask'][s][j])} + {fmt(x[j])} = {fmt(out[s][j])}")
            elif drop:
                o.line(f"out{sup}{i} = a{sup}{i}·mask = {_p(a)}{_p(p['mask'][s][j])} = "
                       f"{fmt(out[s][j])}")
            else:
                o.line(f"out{sup}{i} = a{sup}{i} + {_in_c(l, j, out_in)} = {fmt(a)} + "
                       f"{fmt(x[j])} = {fmt(out[s][j])}")


def _penalty_grad(l1: float, l2: float, w: str = "w", value=None) -> tuple[str, str]:
    """(the penalty's gradient for weight ``w`` as a formula, with numbers)."""
    names, nums = [], []
    if l1 > 0:
        names.append(f"l1·sign({w})")
        nums.append(f"{_p(l1)}{_p(np.sign(value))}" if value is not None else "")
    if l2 > 0:
        names.append(f"2·l2·{w}")
        nums.append(f"2{_p(l2)}{_p(value)}" if value is not None else "")
    return " + ".join(names), " + ".join(nums)


def _loss_penalty(o, p, d) -> None:
    c = d.get("craft") or {}
    l1, l2 = c.get("l1", 0.0), c.get("l2", 0.0)
    names, nums = [], []
    if l1 > 0:
        names.append("l1·Σ|w|")
        nums.append(f"{_p(l1)}{_p(p['sum_abs_weights'])}")
    if l2 > 0:
        names.append("l2·Σw²")
        nums.append(f"{_p(l2)}{_p(p['sum_sq_weights'])}")
    pen = t("explain.penalty_word")
    o.line(f"{pen} = {' + '.join(names)} = {' + '.join(nums)} = {fmt(p['penalty'])}")
    o.line(f"E + {pen} = {fmt(p['loss'])} + {fmt(p['penalty'])} = {fmt(p['total'])}")
    o.note(t("explain.penalty", grad=_penalty_grad(l1, l2)[0]))


def _backward_is_craft(p, d) -> bool:
    if "craft" not in d:
        return False
    l = p["layer"]
    fw = _phase(d, "forward", l)
    if "grad_weight_data" in p or "grad_gamma" in p or fw.get("input_is_out"):
        return True
    if "delta_prev" in p:
        prev = _phase(d, "forward", l - 1)
        return bool(prev.get("batchnorm") or prev.get("dropout") or fw.get("residual"))
    return False


def _dy(d, l: int) -> np.ndarray:
    """∂E/∂(the activation's input) of hidden layer l: ∂E/∂out · mask · f′."""
    nxt, fw = _phase(d, "backward", l + 1), _phase(d, "forward", l)
    g = np.asarray(nxt["dloss_da_prev"], dtype=float)
    if fw.get("dropout"):
        g = g * np.asarray(fw["mask"], dtype=float)
    return g * np.asarray(nxt["fprime_prev"], dtype=float)


def _backward_craft(o, p, d, rows) -> None:
    l = p["layer"]
    sup = _sup(l)
    fw = _phase(d, "forward", l)
    W = fw["weight"]
    gw, gb, delta, inp = p["grad_weight"], p["grad_bias"], p["delta"], p["input"]
    data = p.get("grad_weight_data", gw)      # the data loss's part
    penalty = "grad_weight_data" in p
    c = d["craft"]
    l1, l2 = c["l1"], c["l2"]
    bn = "grad_gamma" in p
    out_in = fw.get("input_is_out", False)
    n_out, n_in = len(gw), len(gw[0])
    n = len(delta)
    pen = t("explain.penalty_word")
    o.heading(t("explain.backward", layer=l + 1))
    o.note(t("explain.grad_sum", n=n))
    if bn:
        o.note(t("explain.bn_bias"))
    if penalty:
        o.note(t("explain.penalty_grad", grad=_penalty_grad(l1, l2)[0]))
    wide = max(n_in, n_out) > MAX_UNITS
    if wide:
        bias = "0" if bn else f"Σₛ δ{sup}ₛⱼ"
        extra = f" + {_penalty_grad(l1, l2)[0]}" if penalty else ""
        o.line(f"∂E/∂w{sup}ⱼₖ = Σₛ δ{sup}ₛⱼ·inₛₖ{extra},   ∂E/∂b{sup}ⱼ = {bias}")
        jj, kk = range(min(n_out, MAX_TABLE)), range(min(n_in, MAX_TABLE))
        o.table(["∂E/∂w"] + [_in_c(l, k, out_in) for k in kk] + ["∂E/∂b"],
                [[f"{_idx(j)}"] + [fmt(gw[j][k]) for k in kk] + [fmt(gb[j])] for j in jj])
        if n_out > MAX_TABLE or n_in > MAX_TABLE:
            o.note(t("explain.table_cut", rows=n_out, cols=n_in))
        if penalty:
            w = f"w{sup}{_idx(0, 0)}"
            _, nums = _penalty_grad(l1, l2, w, W[0][0])
            o.line(f"{w}: {fmt(data[0][0])} + {nums} = {fmt(gw[0][0])}")
    else:
        show_terms = n <= MAX_ROWS
        for j in range(n_out):
            for k in range(n_in):
                w = f"w{sup}{_idx(j, k)}"
                head = f"∂E/∂{w} = Σₛ δ{sup}{_idx(j)}·{_in_c(l, k, out_in)}"
                if show_terms:
                    terms = " + ".join(f"{_p(delta[s][j])}{_p(inp[s][k])}" for s in range(n))
                    o.line(f"{head} = {terms} = {fmt(data[j][k])}")
                else:
                    o.line(f"{head} = {fmt(data[j][k])}")
                if penalty:
                    names, nums = _penalty_grad(l1, l2, w, W[j][k])
                    o.line(f"∂(E + {pen})/∂{w} = ∂E/∂{w} + {names} = {fmt(data[j][k])} + {nums}"
                           f" = {fmt(gw[j][k])}")
            if bn:
                o.line(f"∂E/∂b{sup}{_idx(j)} = 0")
                continue
            head = f"∂E/∂b{sup}{_idx(j)} = Σₛ δ{sup}{_idx(j)}"
            if show_terms:
                terms = " + ".join(_p(delta[s][j]) for s in range(n))
                o.line(f"{head} = {terms} = {fmt(gb[j])}")
            else:
                o.line(f"{head} = {fmt(gb[j])}")
    if bn:
        _bn_param_grads(o, p, d, wide)
    if "delta_prev" in p:
        _delta_prev_craft(o, p, d, rows, wide)


def _bn_param_grads(o, p, d, wide: bool) -> None:
    l = p["layer"]
    sup = _sup(l)
    gg, gbeta = p["grad_gamma"], p["grad_beta"]
    o.note(t("explain.bn_grads"))
    m = len(gg)
    if wide:
        o.table([t("explain.col_unit"), "∂E/∂γ", "∂E/∂β"],
                [[j + 1, fmt(gg[j]), fmt(gbeta[j])] for j in range(min(m, MAX_TABLE))])
        return
    dy = _dy(d, l)
    zh = _phase(d, "forward", l)["z_hat"]
    n = len(zh)
    for j in range(m):
        i = _idx(j)
        if n <= MAX_ROWS:
            tg = " + ".join(f"{_p(dy[s][j])}{_p(zh[s][j])}" for s in range(n)) + " = "
            tb = " + ".join(_p(dy[s][j]) for s in range(n)) + " = "
        else:
            tg = tb = ""
        o.line(f"∂E/∂γ{sup}{i} = Σₛ ∂E/∂y{sup}{i}·ẑ{sup}{i} = {tg}{fmt(gg[j])}")
        o.line(f"∂E/∂β{sup}{i} = Σₛ ∂E/∂y{sup}{i} = {tb}{fmt(gbeta[j])}")


def _delta_prev_craft(o, p, d, rows, wide: bool) -> None:
    """δ of the layer below through what lies between: the skip connection,
    the dropout mask, the activation and batch norm."""
    l = p["layer"]
    sup, ps = _sup(l), _sup(l - 1)
    fw, prev = _phase(d, "forward", l), _phase(d, "forward", l - 1)
    W, delta = fw["weight"], p["delta"]
    n_out, n_in = len(W), len(W[0])
    res, drop, bn = fw.get("residual", False), prev.get("dropout", 0.0), prev.get("batchnorm")
    oname = "out" if "out" in prev else "a"
    dout = np.asarray(p["dloss_da_prev"], dtype=float)
    skip = np.asarray(_phase(d, "backward", l + 1)["dloss_da_prev"], dtype=float) if res else None
    mask = np.asarray(prev["mask"], dtype=float) if drop else None
    da = dout * mask if drop else dout
    fp = np.asarray(p["fprime_prev"], dtype=float)
    dy = da * fp
    dp = p["delta_prev"]
    pre = "y" if bn else "z"
    fprime = _FPRIME.get(d["activations"][l - 1], "f′(z)")
    if bn:       # (σ is batch norm's standard deviation here)
        fprime = (fprime.replace("(z)", "(y)").replace("z > 0", "y > 0")
                  .replace("σ′", "sigmoid′"))
    steps = [f"∂E/∂{oname} = Σⱼ δⱼ·wⱼₖ" + (f" + ∂E/∂out{sup}ₖ ({t('explain.skip_share')})"
                                           if res else "")]
    if drop:
        steps.append("∂E/∂a = ∂E/∂out·mask")
    if bn:
        steps += ["∂E/∂y = ∂E/∂a·f′(y)", "δ = ∂E/∂z"]
    else:
        steps.append("δ = ∂E/∂a·f′(z)")
    o.note(t("explain.delta_prev_craft", layer=l, steps=";  ".join(steps), fprime=fprime))
    if bn:
        o.note(t("explain.bn_delta"))
        zh = np.asarray(prev["z_hat"], dtype=float)
        m1, m2 = dy.mean(axis=0), (dy * zh).mean(axis=0)
        g, istd = prev["gamma"], prev["batch_istd"]
    if wide:
        kk = range(min(n_in, MAX_TABLE))
        head = ([t("explain.col_unit"), f"∂E/∂{oname}"] + (["mask", "∂E/∂a"] if drop else [])
                + [f"f′({pre})"] + (["∂E/∂y"] if bn else []) + ["δ"])
        for s in rows:
            o.line(t("explain.sample", s=s))
            table = []
            for k in kk:
                row = [k + 1, fmt(dout[s][k])]
                if drop:
                    row += [fmt(mask[s][k]), fmt(da[s][k])]
                row.append(fmt(fp[s][k]))
                if bn:
                    row.append(fmt(dy[s][k]))
                row.append(fmt(dp[s][k]))
                table.append(row)
            o.table(head, table)
        return
    for s in rows:
        o.line(t("explain.sample", s=s) + ":")
        for k in range(n_in):
            i = _idx(k)
            names = " + ".join(f"δ{sup}{_idx(j)}·w{sup}{_idx(j, k)}" for j in range(n_out))
            nums = " + ".join(f"{_p(delta[s][j])}{_p(W[j][k])}" for j in range(n_out))
            if res:
                names += f" + ∂E/∂out{sup}{i}"
                nums += f" + {_p(skip[s][k])}"
            o.line(f"∂E/∂{oname}{ps}{i} = {names} = {nums} = {fmt(dout[s][k])}")
            if drop:
                o.line(f"∂E/∂a{ps}{i} = ∂E/∂out{ps}{i}·mask = {_p(dout[s][k])}{_p(mask[s][k])}"
                       f" = {fmt(da[s][k])}")
            if bn:
                o.line(f"∂E/∂y{ps}{i} = ∂E/∂a{ps}{i} · f′(y{ps}{i}) = {_p(da[s][k])}"
                       f"{_p(fp[s][k])} = {fmt(dy[s][k])}")
                o.line(f"δ{ps}{i} = γ·(1/σ)·(∂E/∂y − m₁ − ẑ·m₂) = {_p(g[k])}{_p(istd[k])}·"
                       f"({fmt(dy[s][k])} − {_p(m1[k])} − {_p(zh[s][k])}{_p(m2[k])}) = "
                       f"{fmt(dp[s][k])}")
            else:
                o.line(f"δ{ps}{i} = ∂E/∂a{ps}{i} · f′(z{ps}{i}) = {_p(da[s][k])}{_p(fp[s][k])}"
                       f" = {fmt(dp[s][k])}")


def _update_clipping(o, p, d) -> None:
    """Clipping, in the order it happens: by value (layer by layer in the
    backward pass), then by the norm of the whole gradient."""
    c = d.get("craft") or {}
    if c.get("clip_grad_value", 0.0) > 0:
        o.note(t("explain.clip_value", v=fmt(c["clip_grad_value"])))
    if "grad_norm" in p:
        n = sum(len(_flat(e[k])) for e in p["layers"] for k in e if k.startswith("grad_"))
        norm, coef, mx = p["grad_norm"], p["clip_coef"], c.get("clip_grad_norm", 0.0)
        raw = mx / (norm + 1e-6)
        o.note(t("explain.clip_norm", n=n))
        o.line(f"‖g‖ = √(Σ g²) = {fmt(norm)}")
        tail = f"  →  g ← {_p(coef)}·g" if raw < 1 else f"  ({t('explain.clip_none')})"
        o.line(f"max_norm/(‖g‖ + 1e-6) = {fmt(mx)}/({fmt(norm)} + 1e-6) = {fmt(raw)}{tail}")


def _loss_grads(e) -> list | None:
    """A layer's gradient before clipping (None when clipping is off), in the
    order of the update page's parameters."""
    if "loss_grad_weight" not in e:
        return None
    parts = ["weight", "bias"] + (["gamma", "beta"] if "gamma_before" in e else [])
    return [x for part in parts for x in _flat(e[f"loss_grad_{part}"])]


def _clamped(o, e, names, d) -> None:
    """The components of layer ``e`` that clipping by value clamped."""
    v = (d.get("craft") or {}).get("clip_grad_value", 0.0)
    if v <= 0 or "loss_grad_weight" not in e:
        return
    lg = _loss_grads(e)
    items = [f"{names[i]} {fmt(g)} → {fmt(v if g > 0 else -v)}" for i, g in enumerate(lg)
             if abs(g) > v]
    if not items:
        o.note(t("explain.clamped_none"))
        return
    more = f" … (+{len(items) - MAX_TABLE})" if len(items) > MAX_TABLE else ""
    o.note(t("explain.clamped", items=", ".join(items[:MAX_TABLE]) + more))


def _chain_text(o, d) -> None:
    c = d["chain_rule"]
    o.heading(t("explain.chain"))
    o.note(t("explain.chain_names"))
    o.line("∂E/∂w₁₁ = Σₛ ∂E/∂o · ∂o/∂net_o · ∂net_o/∂h₁ · ∂h₁/∂net_h₁ · ∂net_h₁/∂w₁₁")
    rows = c["per_sample"]
    if len(rows) <= MAX_ROWS:
        for s, r in enumerate(rows):
            nums = "".join(_p(r[k]) for k in c["factors"])
            o.line(f"{t('explain.sample', s=s)}: {nums} = {fmt(r['product'])}")
        o.line("∂E/∂w₁₁ = " + " + ".join(_p(r["product"]) for r in rows) + f" = {fmt(c['sum'])}")
    else:
        o.line(f"∂E/∂w₁₁ = {fmt(c['sum'])}")
    o.note(t("explain.chain_check", value=fmt(c["grad_weight"])))


def weight_chain(d: dict, layer: int, j: int, k: int) -> dict:
    """The chain of factors behind ∂E/∂w for the weight from input k to unit
    j of ``layer`` (0-based), from ``explain``'s dict: per sample,
    ∂E/∂w = δⱼ · inₖ with δⱼ = ∂E/∂aⱼ · f′(zⱼ), and for a hidden layer
    ∂E/∂aⱼ = Σᵢ δᵢ(next layer) · wᵢⱼ(next layer). ``sum`` equals the
    backpropagated ``grad_weight`` (the test suite checks it).

    With training craft: ∂E/∂out (the layer's output) adds the next layer's
    skip connection (``skip``), ∂E/∂a = ∂E/∂out · ``mask`` (dropout),
    ``dy`` = ∂E/∂a · f′ is the gradient at the activation's input and, with
    batch norm, δ comes from batch norm's backward over the whole batch.
    ``grad_weight`` is then the data loss's part and ``grad_total`` adds the
    penalty's (only when a penalty is on)."""
    phases = d["phases"]
    fw = {p["layer"]: p for p in phases if p["phase"] == "forward"}
    bw = {p["layer"]: p for p in phases if p["phase"] == "backward"}
    loss = next(p for p in phases if p["phase"] == "loss")
    last = max(fw)
    rows = []
    for s in range(len(fw[layer]["input"])):
        x = fw[layer]["input"][s][k]
        delta = bw[layer]["delta"][s][j]
        if layer == last:
            dl_da = loss["dloss_da"][s][j]
            terms = None
        else:
            nxt = bw[layer + 1]
            dl_da = nxt["dloss_da_prev"][s][j]
            w_next = fw[layer + 1]["weight"]
            terms = [(nxt["delta"][s][i], w_next[i][j]) for i in range(len(w_next))]
        fprime = bw[layer + 1]["fprime_prev"][s][j] if layer < last else None
        skip = mask = dy = None
        if layer < last:
            if fw[layer + 1].get("residual"):
                skip = bw[layer + 2]["dloss_da_prev"][s][j]
            if fw[layer].get("dropout"):
                mask = fw[layer]["mask"][s][j]
            dy = dl_da * (1.0 if mask is None else mask) * fprime
        rows.append({"input": x, "dloss_da": dl_da, "terms": terms, "fprime": fprime,
                     "delta": delta, "product": delta * x, "skip": skip, "mask": mask,
                     "dy": dy})
    b = bw[layer]
    out = {"layer": layer, "row": j, "col": k, "per_sample": rows,
           "sum": float(sum(r["product"] for r in rows)),
           "grad_weight": b.get("grad_weight_data", b["grad_weight"])[j][k], "last": layer == last,
           "activation": fw[layer]["activation"], "loss": loss["kind"],
           "batchnorm": bool(fw[layer].get("batchnorm")),
           "craft": layer < last and (_is_craft_layer(fw[layer]) or
                                      bool(fw[layer + 1].get("residual"))),
           "input_is_out": bool(fw[layer].get("input_is_out")),
           "output_is_out": "out" in fw[layer]}
    if "grad_weight_data" in b:
        out["grad_total"] = b["grad_weight"][j][k]
        out["weight"] = fw[layer]["weight"][j][k]
    return out


def render_weight_chain(d: dict, layer: int, j: int, k: int, lang: str | None = None) -> str:
    """``weight_chain`` as text with every number substituted."""
    before = get_lang()
    if lang is not None:
        set_lang(lang)
    try:
        c = weight_chain(d, layer, j, k)
        o = _Out(False)
        sup, nsup = _sup(layer), _sup(layer + 1)
        w = f"w{sup}{_idx(j, k)}"
        src = _in_c(layer, k, c["input_is_out"])
        o.heading(t("explain.weight_chain", weight=w, layer=layer + 1, j=j + 1, src=src))
        o.line(f"∂E/∂{w} = Σₛ δ{sup}{_idx(j)} · {src}")
        if c["craft"]:
            _chain_craft_formula(o, d, c, layer, j)
        elif c["last"]:
            o.line(f"δ{sup}{_idx(j)} = ∂E/∂o{_idx(j)} · f′(z{sup}{_idx(j)})   ({c['loss']}, "
                   f"{c['activation']})")
        else:
            o.line(f"δ{sup}{_idx(j)} = ∂E/∂a{sup}{_idx(j)} · f′(z{sup}{_idx(j)}),   "
                   f"∂E/∂a{sup}{_idx(j)} = Σᵢ δ{nsup}ᵢ · w{nsup}ᵢ{_idx(j)}")
        rows = c["per_sample"]
        shown = rows if d["sample"] is None else [rows[d["sample"]]]
        first = 0 if d["sample"] is None else d["sample"]
        for s, r in enumerate(shown[:MAX_ROWS], start=first):
            o.line(f"{t('explain.sample', s=s)}:")
            if c["craft"]:
                _chain_craft_sample(o, c, r)
            elif r["terms"] is not None:
                terms = " + ".join(f"{_p(a)}{_p(b)}" for a, b in r["terms"])
                o.line(f"  ∂E/∂a = {terms} = {fmt(r['dloss_da'])}")
                o.line(f"  δ = ∂E/∂a · f′(z) = {_p(r['dloss_da'])}{_p(r['fprime'])} "
                       f"= {fmt(r['delta'])}")
            else:
                o.line(f"  δ = {fmt(r['delta'])}   (∂E/∂o = {fmt(r['dloss_da'])})")
            o.line(f"  δ · {src} = {_p(r['delta'])}{_p(r['input'])} "
                   f"= {fmt(r['product'])}")
        if len(rows) <= MAX_ROWS and d["sample"] is None:
            o.line(f"∂E/∂{w} = " + " + ".join(_p(r["product"]) for r in rows)
                   + f" = {fmt(c['sum'])}")
        o.note(t("explain.chain_check", value=fmt(c["grad_weight"])))
        if "grad_total" in c:
            cr = d["craft"]
            names, nums = _penalty_grad(cr["l1"], cr["l2"], w, c["weight"])
            pen = t("explain.penalty_word")
            o.line(f"∂(E + {pen})/∂{w} = ∂E/∂{w} + {names} = {fmt(c['grad_weight'])} + {nums} = "
                   f"{fmt(c['grad_total'])}")
        return o.text()
    finally:
        set_lang(before)


def _chain_craft_formula(o, d, c, layer: int, j: int) -> None:
    """How δ of a hidden unit comes about when dropout, batch norm or a
    residual connection lie on the way."""
    sup, nsup, i = _sup(layer), _sup(layer + 1), _idx(j)
    r0 = c["per_sample"][0]
    oname = "out" if c["output_is_out"] else "a"
    parts = [f"∂E/∂{oname}{sup}{i} = Σᵢ δ{nsup}ᵢ · w{nsup}ᵢ{i}"
             + (f" + ∂E/∂out{nsup}{i} ({t('explain.skip_share')})" if r0["skip"] is not None
                else "")]
    if r0["mask"] is not None:
        parts.append(f"∂E/∂a{sup}{i} = ∂E/∂out{sup}{i} · mask")
    if c["batchnorm"]:
        parts += [f"∂E/∂y{sup}{i} = ∂E/∂a{sup}{i} · f′(y{sup}{i})",
                  f"δ{sup}{i} = γ·(1/σ)·(∂E/∂y − m₁ − ẑ·m₂)"]
    else:
        parts.append(f"δ{sup}{i} = ∂E/∂a{sup}{i} · f′(z{sup}{i})")
    for line in parts:
        o.line(line)
    if c["batchnorm"]:
        o.note(t("explain.bn_delta"))


def _chain_craft_sample(o, c, r) -> None:
    oname = "out" if c["output_is_out"] else "a"
    terms = " + ".join(f"{_p(a)}{_p(b)}" for a, b in r["terms"])
    if r["skip"] is not None:
        terms += f" + {_p(r['skip'])}"
    o.line(f"  ∂E/∂{oname} = {terms} = {fmt(r['dloss_da'])}")
    da = r["dloss_da"]
    if r["mask"] is not None:
        da = r["dloss_da"] * r["mask"]
        o.line(f"  ∂E/∂a = ∂E/∂out · mask = {_p(r['dloss_da'])}{_p(r['mask'])} = {fmt(da)}")
    if c["batchnorm"]:
        o.line(f"  ∂E/∂y = ∂E/∂a · f′(y) = {_p(da)}{_p(r['fprime'])} = {fmt(r['dy'])}")
        o.line(f"  δ = {fmt(r['delta'])}   ({t('explain.bn_whole_batch')})")
    else:
        o.line(f"  δ = ∂E/∂a · f′(z) = {_p(da)}{_p(r['fprime'])} = {fmt(r['delta'])}")


GRADCHECK_WORST = 10


def gradcheck_report(gc, show_all: bool = False) -> list[tuple[str, bool]]:
    """A gradient check as lines of text, each with whether it flags a
    disagreement (the ``gradcheck`` command and the inspector print these)."""
    out = [(t("gradcheck.title", step=gc.step, checked=gc.n_checked, total=gc.n_params,
              sample=t("gradcheck.sample") if gc.sampled else "",
              eps=f"{gc.eps:g}", dtype=gc.dtype), False)]
    if show_all or gc.n_checked <= 2 * GRADCHECK_WORST:
        positions = range(gc.n_checked)
    else:
        positions = gc.worst(GRADCHECK_WORST)
        out.append((t("gradcheck.worst", n=len(positions)), False))
    rows = gc.rows(positions)
    width = max(len(r["name"]) for r in rows)
    out.append((t("gradcheck.head"), False))
    for r in rows:
        flag = "  " + t("gradcheck.bad") if r["disagree"] else ""
        out.append((f"{r['name']:<{width}}  {r['backprop']: .10e}  {r['numeric']: .10e}  "
                    f"{r['rel_error']:.2e}{flag}", r["disagree"]))
    key = "gradcheck.ok" if gc.ok else "gradcheck.fail"
    out.append((t(key, n=gc.n_disagree, rel=f"{gc.max_rel_error:.2e}", rtol=f"{gc.rtol:g}",
                  atol=f"{gc.atol:g}"), not gc.ok))
    return out
