"""`simtreino explain`: the course's exercise checked against an
independent NumPy computation, the numbers equal the fast path's bit for
bit, and the command line's formats and errors."""

import json

import numpy as np
import pytest

from simtreino.cli import main
from simtreino.headless.explain import explain, render_text
from simtreino.scenario import find_scenario, load_scenario
from simtreino.scenario.build import build_trainer

# The course's exercise ("Exercício: Derivada em Backpropagation"): 2-2-1,
# sigmoid units, XOR, MSE, SGD with lr 0.5, full batch in order.
W1 = np.array([[0.15, 0.20], [0.25, 0.30]])
B1 = np.array([0.35, 0.35])
W2 = np.array([[0.40, 0.45]])
B2 = np.array([0.60])
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])
LR = 0.5
TOL = dict(rtol=1e-12, atol=1e-15)


def hand_step(W1, b1, W2, b2):
    """One SGD step of the exercise by hand, in plain NumPy."""
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    z1 = X @ W1.T + b1
    h = sig(z1)
    z2 = h @ W2.T + b2
    o = sig(z2)
    n, m = o.shape
    E = np.sum((o - Y) ** 2) / (n * m)               # torch: reduction='mean'
    dE_do = 2.0 * (o - Y) / (n * m)
    do_dnet = o * (1.0 - o)
    d2 = dE_do * do_dnet
    gW2, gb2 = d2.T @ h, d2.sum(axis=0)
    dE_dh = d2 @ W2
    dh_dnet = h * (1.0 - h)
    d1 = dE_dh * dh_dnet
    gW1, gb1 = d1.T @ X, d1.sum(axis=0)
    return dict(z1=z1, h=h, z2=z2, o=o, E=E, dE_do=dE_do, do_dnet=do_dnet, d2=d2, gW2=gW2,
                gb2=gb2, dE_dh=dE_dh, dh_dnet=dh_dnet, d1=d1, gW1=gW1, gb1=gb1,
                W1=W1 - LR * gW1, b1=b1 - LR * gb1, W2=W2 - LR * gW2, b2=b2 - LR * gb2)


@pytest.fixture
def course_npz(tmp_path):
    p = tmp_path / "course-init.npz"
    np.savez(p, **{"layers.0.weight": W1, "layers.0.bias": B1,
                   "layers.1.weight": W2, "layers.1.bias": B2})
    return p


def phase(d, name, layer=None):
    return next(p for p in d["phases"] if p["phase"] == name
                and (layer is None or p.get("layer") == layer))


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), b, **TOL)


def fmt4(x):
    x = float(x)
    return f"{x:.4f}" if x == 0 or 1e-3 <= abs(x) < 1e5 else f"{x:.4e}"


@pytest.mark.parametrize("step", [1, 2])
def test_course_exercise_matches_a_hand_computation(course_npz, step):
    params = (W1, B1, W2, B2)
    for _ in range(step):
        h = hand_step(*params)
        params = (h["W1"], h["b1"], h["W2"], h["b2"])
    w1, b1, w2, b2 = (h_ for h_ in (W1, B1, W2, B2))
    if step == 2:   # the parameters the second step starts from
        h1 = hand_step(W1, B1, W2, B2)
        w1, b1, w2, b2 = h1["W1"], h1["b1"], h1["W2"], h1["b2"]

    d = explain("course-221", step=step, init_params=course_npz)
    assert d["step"] == step and d["epoch"] == step and d["sample"] is None
    assert d["architecture"] == [2, 2, 1] and d["loss"] == "mse" and d["optimizer"] == "sgd"
    assert d["batch"]["x"] == X.tolist() and d["batch"]["targets"] == Y.tolist()
    assert d["batch"]["indices"] == [0, 1, 2, 3]

    f0, f1 = phase(d, "forward", 0), phase(d, "forward", 1)
    assert f0["activation"] == f1["activation"] == "sigmoid"
    close(f0["input"], X); close(f0["weight"], w1); close(f0["bias"], b1)
    close(f0["z"], h["z1"]); close(f0["a"], h["h"])
    close(f1["input"], h["h"]); close(f1["weight"], w2); close(f1["bias"], b2)
    close(f1["z"], h["z2"]); close(f1["a"], h["o"])

    ls = phase(d, "loss")
    assert ls["kind"] == "mse"
    close(ls["loss"], h["E"]); close(ls["output"], h["o"]); close(ls["targets"], Y)
    close(ls["dloss_da"], h["dE_do"]); close(ls["delta"], h["d2"])

    k1, k0 = phase(d, "backward", 1), phase(d, "backward", 0)
    close(k1["delta"], h["d2"]); close(k1["input"], h["h"])
    close(k1["grad_weight"], h["gW2"]); close(k1["grad_bias"], h["gb2"])
    close(k1["dloss_da_prev"], h["dE_dh"]); close(k1["fprime_prev"], h["dh_dnet"])
    close(k1["delta_prev"], h["d1"])
    close(k0["delta"], h["d1"]); close(k0["input"], X)
    close(k0["grad_weight"], h["gW1"]); close(k0["grad_bias"], h["gb1"])
    assert "delta_prev" not in k0

    up = phase(d, "update")
    assert up["optimizer"] == "sgd" and up["lr"] == LR and up["t"] == step
    l0, l1 = up["layers"]
    close(l0["weight_before"], w1); close(l0["bias_before"], b1)
    close(l0["grad_weight"], h["gW1"]); close(l0["grad_bias"], h["gb1"])
    close(l0["weight_after"], h["W1"]); close(l0["bias_after"], h["b1"])
    close(l1["weight_before"], w2); close(l1["weight_after"], h["W2"])
    close(l1["bias_after"], h["b2"])

    c = d["chain_rule"]
    assert c["weight"] == "layers.0.weight[0,0]"
    for s, r in enumerate(c["per_sample"]):
        close(r["dE_do"], h["dE_do"][s, 0]); close(r["do_dnet_o"], h["do_dnet"][s, 0])
        close(r["dnet_o_dh1"], w2[0, 0]); close(r["dh1_dnet_h1"], h["dh_dnet"][s, 0])
        close(r["dnet_h1_dw11"], X[s, 0])
    close(c["sum"], h["gW1"][0, 0])
    close(c["grad_weight"], h["gW1"][0, 0])

    text = render_text(d, "en")
    for v in (h["E"], h["z1"][1, 0], h["h"][1, 0], h["o"][3, 0], h["d2"][2, 0],
              h["gW1"][0, 0], h["gW2"][0, 1], h["W1"][0, 0], h["b2"][0], c["sum"]):
        assert fmt4(v) in text, v
    assert "∂E/∂w₁₁ = Σₛ ∂E/∂o · ∂o/∂net_o · ∂net_o/∂h₁ · ∂h₁/∂net_h₁ · ∂net_h₁/∂w₁₁" in text
    # the exercise's numbers substituted into the first layer's formula
    z = h["z1"][1, 0]
    assert (f"z¹₁ = w¹₁₁·x₁ + w¹₁₂·x₂ + b¹₁ = ({fmt4(w1[0, 0])})(0.0000) + "
            f"({fmt4(w1[0, 1])})(1.0000) + {fmt4(b1[0])} = {fmt4(z)}") in text
    assert f"σ({fmt4(z)}) = {fmt4(h['h'][1, 0])}" in text
    w, g, new = w1[0, 0], h["gW1"][0, 0], h["W1"][0, 0]
    assert f"= {fmt4(w)} − (0.5000)({fmt4(g)}) = {fmt4(new)}" in text


def test_json_round_trips_exactly(course_npz):
    d = explain("course-221", step=3, init_params=course_npz)
    assert json.loads(json.dumps(d)) == d


def flat_after(d):
    out = []
    for e in phase(d, "update")["layers"]:
        out += np.ravel(e["weight_after"]).tolist() + np.ravel(e["bias_after"]).tolist()
    return out


@pytest.mark.parametrize("name,step", [("course-221", 4), ("opt-adam", 3), ("minibatch", 5),
                                       ("opt-momentum", 2)])
def test_numbers_equal_the_fast_path_bit_for_bit(name, step):
    d = explain(name, step=step)
    tr = build_trainer(load_scenario(find_scenario(name)))
    tr.run_steps(step)
    after = np.asarray(flat_after(d), dtype=tr.dtype)
    assert after.shape == tr.theta.shape
    assert np.array_equal(after, tr.theta)
    assert np.array_equal(np.asarray(phase(d, "update")["state"][tr.state_names()[0]],
                                     dtype=tr.dtype), tr.opt.state[0])


def test_adam_update_has_moments_and_bias_corrections():
    d = explain("opt-adam", step=3)
    up = phase(d, "update")
    assert up["optimizer"] == "adam" and up["t"] == 3
    assert {"exp_avg", "exp_avg_sq"} <= set(up["state"]) and set(up["state"]) == set(
        up["state_before"])
    b1, b2 = d["hyper"]["betas"]
    assert up["bias_corrections"] == [1.0 - b1 ** 3, 1.0 - b2 ** 3]
    # m and v follow Adam's rule from the state before and the gradient
    g = np.concatenate([np.ravel(e["grad_weight"]) for e in up["layers"][:1]])
    m0 = np.asarray(up["layers"][0]["state_before"]["exp_avg"]["weight"]).ravel()
    m1 = np.asarray(up["layers"][0]["state"]["exp_avg"]["weight"]).ravel()
    np.testing.assert_allclose(m1, b1 * m0 + (1 - b1) * g, rtol=1e-12, atol=1e-18)
    text = render_text(d, "en")
    assert "Bias corrections at t = 3" in text and "exp_avg_sq" in text
    assert "max_exp_avg_sq" not in text   # amsgrad is off: its state says nothing


def test_sample_selects_rows_in_text_only(course_npz):
    d = explain("course-221", sample=2, init_params=course_npz)
    assert d["sample"] == 2 and len(phase(d, "forward", 0)["z"]) == 4
    text = render_text(d, "en")
    assert "sample 2:" in text and "sample 0:" not in text.split("Chain rule")[0]
    assert "whole batch" in text
    with pytest.raises(ValueError):
        explain("course-221", sample=4)
    with pytest.raises(ValueError):
        explain("course-221", step=0)


def test_wide_layers_become_tables_and_markdown():
    d = explain("opt-adam", step=1, sample=0)   # 2-16-1
    text = render_text(d, "en", markdown=True)
    assert text.startswith("# ") and "\n## Forward pass, layer 1" in text
    assert "| unit | z | a |" in text
    assert d["chain_rule"] is not None
    pt = render_text(d, "pt")
    assert "Retropropagação" in pt and "amostra 0" in pt and "taxa de aprendizado" in pt


# ------------------------------------------------------------------- CLI
def test_cli_formats(course_npz, capsys):
    assert main(["explain", "course-221", "--init-params", str(course_npz),
                 "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    h = hand_step(W1, B1, W2, B2)
    close(phase(d, "loss")["loss"], h["E"])
    assert main(["explain", "course-221", "--init-params", str(course_npz),
                 "--format", "markdown", "--step", "2", "--sample", "1"]) == 0
    md = capsys.readouterr().out
    assert "## Loss (mse" in md and "step 2" in md
    assert main(["--lang", "pt", "explain", "course-221"]) == 0
    pt = capsys.readouterr().out
    assert "Passagem direta" in pt and "Regra da cadeia" in pt and "amostra" in pt
    assert main(["explain", "course-221", "--lang", "en"]) == 0
    assert "Forward pass" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--step", "0"], ["--sample", "-1"], ["--format", "xml"]])
def test_cli_bad_options_are_one_line_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(["explain", "course-221"] + argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("simtreino: error:")


@pytest.mark.parametrize("argv", [["--init-params", "/no/such/file.npz"], ["--sample", "4"]])
def test_cli_bad_input_is_one_line_exit_2(argv, capsys):
    assert main(["explain", "course-221"] + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("simtreino: error:")


@pytest.mark.parametrize("module", ["simtreino.headless.explain", "simtreino.analysis.gradcheck"])
def test_does_not_import_the_ui(module):
    import subprocess
    import sys
    code = (f"import sys, {module}; "
            "print(','.join(m for m in ('textual', 'rich', 'plotext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_the_chain_of_factors_of_every_weight_sums_to_its_gradient():
    from simtreino.headless.explain import explain, render_weight_chain, weight_chain
    from simtreino.scenario import find_scenario, load_scenario
    for name in ("course-221", "spirals"):
        d = explain(load_scenario(find_scenario(name)), step=2)
        rel = 1e-12 if d["dtype"] == "float64" else 1e-4    # spirals is float32
        for p in (p for p in d["phases"] if p["phase"] == "backward"):
            gw = p["grad_weight"]
            for j in range(min(3, len(gw))):
                for k in range(min(3, len(gw[0]))):
                    c = weight_chain(d, p["layer"], j, k)
                    assert c["sum"] == pytest.approx(gw[j][k], rel=rel, abs=1e-12)
                    for r in c["per_sample"]:
                        if r["terms"] is not None:   # hidden layer: the sum over the next layer
                            assert sum(a * b for a, b in r["terms"]) == pytest.approx(
                                r["dloss_da"], rel=rel, abs=1e-12)
                            assert r["dloss_da"] * r["fprime"] == pytest.approx(
                                r["delta"], rel=rel, abs=1e-12)
        text = render_weight_chain(d, 0, 0, 1)
        assert "∂E/∂w¹" in text and "δ" in text


# ------------------------------------------------------------ training craft
def craft_trainer(**over):
    """2-3-3-1 on XOR: batch norm on both hidden layers, dropout, a residual
    second layer, L1 + L2 and clipping by norm and by value."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from coretools import make_trainer, xor_arrays
    x, t_, y = xor_arrays()
    kw = dict(loss="bce", l1=0.001, l2=0.01, clip_grad_norm=0.05, clip_grad_value=0.1,
              dropout=[0.2, 0.3], seed=3)
    kw.update(over)
    return make_trainer([(3, "tanh", None, True, False), (3, "relu", None, True, True),
                         (1, "sigmoid", None)], x, t_, y, **kw)


def test_plain_networks_keep_their_dict():
    d = explain("course-221", step=1)
    assert "craft" not in d
    for p in d["phases"]:
        assert not {"batchnorm", "dropout", "residual", "mask", "out", "input_is_out",
                    "penalty", "grad_weight_data", "grad_gamma", "grad_norm"} & set(p)
    assert set(phase(d, "update")["layers"][0]) == {
        "layer", "weight_before", "weight_after", "grad_weight", "bias_before", "bias_after",
        "grad_bias", "state_before", "state"}


def test_craft_step_every_number_and_the_fast_path():
    from simtreino.headless.explain import explain_trainer, weight_chain
    tr, twin = craft_trainer(), craft_trainer()
    d = explain_trainer(tr, name="craft")
    twin.run_steps(1)
    after = [x for e in phase(d, "update")["layers"]
             for part in ("weight", "bias", "gamma", "beta") if f"{part}_after" in e
             for x in np.ravel(e[f"{part}_after"])]
    assert np.array_equal(np.asarray(after), twin.theta)        # γ, β after each layer's bias
    assert json.loads(json.dumps(d)) == d
    c = d["craft"]
    assert c["batchnorm"] == [True, True, False] and c["residual"] == [False, True, False]
    assert c["dropout"][:2] == [0.2, 0.3] and c["l2"] == 0.01
    assert d["chain_rule"] is None                  # the five factors are for plain layers
    f0, f1, f2 = (phase(d, "forward", i) for i in range(3))
    assert f0["batchnorm"] and f0["dropout"] == 0.2 and "residual" not in f0
    assert f1["residual"] and f1["input_is_out"] and f2["input_is_out"]
    for f in (f0, f1):
        z, zh = np.array(f["z"]), np.array(f["z_hat"])
        np.testing.assert_allclose(zh, (z - f["batch_mean"]) * f["batch_istd"], atol=1e-12)
        np.testing.assert_allclose(f["y"], np.array(f["gamma"]) * zh + f["beta"], atol=1e-12)
        assert set(np.unique(f["mask"])) <= {0.0, 1 / (1 - f["dropout"])}
    np.testing.assert_allclose(f0["a"], np.tanh(f0["y"]), atol=1e-12)
    np.testing.assert_allclose(f0["out"], np.array(f0["a"]) * f0["mask"], atol=1e-15)
    np.testing.assert_allclose(f1["out"], np.array(f1["a"]) * f1["mask"] + f1["input"],
                               atol=1e-15)
    ls = phase(d, "loss")
    ws = [np.array(phase(d, "forward", i)["weight"]) for i in range(3)]
    pen = 0.001 * sum(np.abs(w).sum() for w in ws) + 0.01 * sum((w * w).sum() for w in ws)
    assert ls["penalty"] == pytest.approx(pen, rel=1e-12)
    assert ls["total"] == pytest.approx(ls["loss"] + ls["penalty"], rel=1e-15)
    for l in range(3):
        b = phase(d, "backward", l)
        w = ws[l]
        np.testing.assert_allclose(np.array(b["grad_weight"]) - b["grad_weight_data"],
                                   0.001 * np.sign(w) + 0.02 * w, atol=1e-12)
        if l < 2:
            assert b["grad_bias"] == [0.0] * 3            # the bias before batch norm
            assert "grad_gamma" in b and "grad_beta" in b
        for j in range(len(w)):
            for k in range(len(w[0])):
                ch = weight_chain(d, l, j, k)
                assert ch["sum"] == pytest.approx(b["grad_weight_data"][j][k], abs=1e-12)
                assert ch["grad_total"] == b["grad_weight"][j][k]
    # batch norm's backward, as the page writes it, gives the delta sent down
    b2, b1 = phase(d, "backward", 2), phase(d, "backward", 1)
    dy = np.array(b2["dloss_da_prev"]) * f1["mask"] * b2["fprime_prev"]
    np.testing.assert_allclose(b1["grad_beta"], dy.sum(axis=0), atol=1e-12)
    np.testing.assert_allclose(b1["grad_gamma"], (dy * f1["z_hat"]).sum(axis=0), atol=1e-12)
    zh = np.array(f1["z_hat"])
    dz = np.array(f1["gamma"]) * f1["batch_istd"] * (dy - dy.mean(0) - zh * (dy * zh).mean(0))
    np.testing.assert_allclose(b2["delta_prev"], dz, atol=1e-12)
    # the skip connection's share: layer 1's output gets layer 2's output gradient too
    np.testing.assert_allclose(
        b1["dloss_da_prev"],
        np.array(b1["delta"]) @ np.array(f1["weight"]) + np.array(b2["dloss_da_prev"]),
        atol=1e-12)
    up = phase(d, "update")
    assert up["clip_coef"] == pytest.approx(0.05 / (up["grad_norm"] + 1e-6), rel=1e-12)
    assert up["clip_coef"] < 1
    for e in up["layers"]:
        for part in ("weight", "bias") + (("gamma", "beta") if e["layer"] < 2 else ()):
            clamped = np.clip(e[f"loss_grad_{part}"], -0.1, 0.1)
            np.testing.assert_allclose(e[f"grad_{part}"], up["clip_coef"] * clamped, atol=1e-15)


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_craft_pages_show_the_new_quantities(lang):
    from simtreino.headless.explain import (explain_trainer, phase_titles, render_phase,
                                            render_weight_chain)
    d = explain_trainer(craft_trainer(), name="craft")
    pages = [render_phase(d, i, lang) for i in range(len(phase_titles(d)))]
    fw0, fw1, _, loss, bw2, bw1, bw0, update = pages
    f0, f1 = phase(d, "forward", 0), phase(d, "forward", 1)
    assert "ẑ¹₁ = (z¹₁ − μ¹₁)·(1/σ¹₁)" in fw0 and "y¹₁ = γ¹₁·ẑ¹₁ + β¹₁" in fw0
    assert f"μ¹₁ = {fmt4(f0['batch_mean'][0])}" in fw0
    assert f"1/σ¹₁ = {fmt4(f0['batch_istd'][0])}" in fw0
    assert f"a¹₁ = tanh(y¹₁) = tanh({fmt4(f0['y'][0][0])}) = {fmt4(f0['a'][0][0])}" in fw0
    assert f"out¹₁ = a¹₁·mask = ({fmt4(f0['a'][0][0])})({fmt4(f0['mask'][0][0])})" in fw0
    assert "1.2500" in fw0                       # 1/(1 − p): a kept unit's mask
    assert f"out²₁ = a²₁·mask + out¹₁ = ({fmt4(f1['a'][0][0])})" in fw1
    ls = phase(d, "loss")
    assert f"= {fmt4(ls['penalty'])}" in loss and "l1·Σ|w| + l2·Σw²" in loss
    assert f"{fmt4(ls['loss'])} + {fmt4(ls['penalty'])} = {fmt4(ls['total'])}" in loss
    b0 = phase(d, "backward", 0)
    assert f"= {fmt4(b0['grad_weight_data'][0][0])}" in bw0
    assert f"= {fmt4(b0['grad_weight'][0][0])}" in bw0
    assert "∂E/∂b¹₁ = 0" in bw0 and "∂E/∂γ¹₁ = Σₛ ∂E/∂y¹₁·ẑ¹₁" in bw0
    assert f"{fmt4(b0['grad_gamma'][0])}" in bw0
    assert "m₁" in bw2 and "∂E/∂out²₁" in bw1     # batch norm's backward; the skip's share
    up = phase(d, "update")
    assert f"‖g‖ = √(Σ g²) = {fmt4(up['grad_norm'])}" in update
    assert f"g ← ({fmt4(up['clip_coef'])})·g" in update
    assert "γ¹₁ ←" in update and "β²₃ ←" in update
    word = {"en": "clamped:", "pt": "limitados:"}[lang]
    assert word in update
    chain = render_weight_chain(d, 0, 1, 0, lang)
    assert "∂E/∂a = ∂E/∂out · mask" in chain and "∂E/∂y = ∂E/∂a · f′(y)" in chain
    assert f"= {fmt4(b0['grad_weight'][1][0])}" in chain       # with the penalty's part
    if lang == "pt":
        assert "Normalização por lotes" in fw0 and "penalidade" in loss
        assert "Recorte do gradiente" in update
