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
    from .params import load_params

    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(find_scenario(str(scenario)))
    if scenario.kind == "race":
        raise ValueError(f"{scenario.name} is an optimizer race on a 2-D function, with no "
                         "network to step through; open it with `simtreino open`")
    tr = build_trainer(scenario)
    if init_params is not None:
        if isinstance(init_params, (str, Path)):
            theta = load_params(init_params, tr.arch, tr.dtype)
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
    training diverges before it."""
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"step must be an integer >= 1, got {step!r}")
    scenario, tr = _trainer_for(scenario, init_params)
    done = tr.run_steps(int(step) - 1)
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
            phases.append({"phase": "forward", "layer": r.layer,
                           "activation": r.scalars["activation"],
                           "input": _l(T["input"]), "weight": _l(T["weight"]),
                           "bias": _l(T["bias"]), "z": _l(T["z"]), "a": _l(T["a"])})
        elif r.phase == "loss":
            phases.append({"phase": "loss", "layer": r.layer, "kind": r.scalars["kind"],
                           "loss": float(r.scalars["loss"]),
                           "correct": int(r.scalars["correct"]),
                           "output": _l(T["output"]), "targets": _l(T["targets"]),
                           "dloss_da": _l(T["dloss_da"]), "delta": _l(T["delta"])})
        elif r.phase == "backward":
            d = {"phase": "backward", "layer": r.layer, "delta": _l(T["delta"]),
                 "input": _l(T["input"]), "grad_weight": _l(T["grad_weight"]),
                 "grad_bias": _l(T["grad_bias"])}
            for k in ("dloss_da_prev", "fprime_prev", "delta_prev"):
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
    d["chain_rule"] = _chain_rule(tr, d)
    return d


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
    layers = []
    for i in range(len(arch.layers)):
        e = {"layer": i}
        for part, get in (("weight", arch.weight), ("bias", arch.bias)):
            e[f"{part}_before"] = _l(get(T["before"], i))
            e[f"{part}_after"] = _l(get(T["after"], i))
            e[f"grad_{part}"] = _l(get(T["grad"], i))
        e["state_before"] = {k: {"weight": _l(arch.weight(T[f"state_before.{k}"], i)),
                                 "bias": _l(arch.bias(T[f"state_before.{k}"], i))} for k in names}
        e["state"] = {k: {"weight": _l(arch.weight(T[f"state.{k}"], i)),
                          "bias": _l(arch.bias(T[f"state.{k}"], i))} for k in names}
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
            "per_sample": rows, "sum": total, "grad_weight": b0["grad_weight"][0][0]}


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
    o.line(rule)
    o.note(t("explain.hyper", values=", ".join(f"{k} = {v}" for k, v in h.items())))
    if "bias_corrections" in p:
        c1, c2 = p["bias_corrections"]
        o.note(t("explain.bias_corr", t=p["t"], c1=fmt(c1), c2=fmt(c2)))
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
        o.line(t("explain.layer", layer=l + 1) + ":")
        shown = range(min(len(names), MAX_TABLE if max(n_in, n_out) > MAX_UNITS else 10 ** 9))
        if plain:
            for i in shown:
                o.line(f"{names[i]} ← {names[i]} − η·∂E/∂{names[i]} = {fmt(before[i])} − "
                       f"{_p(lr)}{_p(grad[i])} = {fmt(after[i])}")
        else:
            head = [t("explain.col_param"), t("explain.col_before"), "∂E/∂w"]
            for k in states:
                head += [f"{k} ({t('explain.col_before')})", k]
            head.append(t("explain.col_after"))
            table = []
            for i in shown:
                row = [names[i], fmt(before[i]), fmt(grad[i])]
                for k in states:
                    row += [fmt(sb[k][i]), fmt(sa[k][i])]
                row.append(fmt(after[i]))
                table.append(row)
            o.table(head, table)
        if len(shown) < len(names):
            o.note(t("explain.more", n=len(names) - len(shown)))


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
    backpropagated ``grad_weight`` (the test suite checks it)."""
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
        rows.append({"input": x, "dloss_da": dl_da, "terms": terms, "fprime": fprime,
                     "delta": delta, "product": delta * x})
    return {"layer": layer, "row": j, "col": k, "per_sample": rows,
            "sum": float(sum(r["product"] for r in rows)),
            "grad_weight": bw[layer]["grad_weight"][j][k], "last": layer == last,
            "activation": fw[layer]["activation"], "loss": loss["kind"]}


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
        o.heading(t("explain.weight_chain", weight=w, layer=layer + 1, j=j + 1,
                    src=_in_name(layer, k)))
        o.line(f"∂E/∂{w} = Σₛ δ{sup}{_idx(j)} · {_in_name(layer, k)}")
        if c["last"]:
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
            if r["terms"] is not None:
                terms = " + ".join(f"{_p(a)}{_p(b)}" for a, b in r["terms"])
                o.line(f"  ∂E/∂a = {terms} = {fmt(r['dloss_da'])}")
                o.line(f"  δ = ∂E/∂a · f′(z) = {_p(r['dloss_da'])}{_p(r['fprime'])} "
                       f"= {fmt(r['delta'])}")
            else:
                o.line(f"  δ = {fmt(r['delta'])}   (∂E/∂o = {fmt(r['dloss_da'])})")
            o.line(f"  δ · {_in_name(layer, k)} = {_p(r['delta'])}{_p(r['input'])} "
                   f"= {fmt(r['product'])}")
        if len(rows) <= MAX_ROWS and d["sample"] is None:
            o.line(f"∂E/∂{w} = " + " + ".join(_p(r["product"]) for r in rows)
                   + f" = {fmt(c['sum'])}")
        o.note(t("explain.chain_check", value=fmt(c["grad_weight"])))
        return o.text()
    finally:
        set_lang(before)


GRADCHECK_WORST = 10


def gradcheck_report(gc, show_all: bool = False) -> list[tuple[str, bool]]:
    """A gradient check as lines of text, each with whether it flags a
    disagreement (the ``gradcheck`` command and the inspector print these)."""
    out = [(t("gradcheck.title", step=gc.step, checked=gc.n_checked, total=gc.n_params,
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
