"""The training diagnostics in headless runs: the runner, traces and replay,
[expect] diagnoses / no_diagnoses, the `run` command's finding lines,
applying a cure, and no false alarms on the bundled scenarios."""

import json
import re

import pytest

import simtreino.api as api
from simtreino import i18n
from simtreino.analysis.diagnostics import FINDINGS
from simtreino.cli import main
from simtreino.headless.cure import CureError, apply_cure
from simtreino.headless.errors import TraceError
from simtreino.headless.expect import check_findings
from simtreino.headless.replay import compare_trace
from simtreino.headless.runner import Runner, run
from simtreino.headless.trace import read_trace
from simtreino.api import load_scenario
from simtreino.scenario import ScenarioError, list_bundled, scenario_from_dict
from simtreino.scenario.schema import ExpectSpec

BUNDLED = [(n, p) for n, p in list_bundled() if load_scenario(p).kind != "race"]
LESSONS = [n for n, _ in BUNDLED if n.startswith("lesson-")]


@pytest.fixture
def lang():
    before = i18n.get_lang()
    yield i18n.set_lang
    i18n.set_lang(before)


# ------------------------------------------------------------ no false alarms

@pytest.mark.parametrize("name,path", BUNDLED, ids=[n for n, _ in BUNDLED])
def test_bundled_scenarios_raise_only_the_findings_they_expect(name, path):
    """Every bundled network scenario run to its end: a finding the scenario
    does not list in [expect] diagnoses is a false alarm."""
    s = load_scenario(path)
    for label, variant in s.variants():
        r = run(variant)
        raised = [f.name for f in r.findings]
        allowed = set(variant.expect.diagnoses or ())
        unexpected = [f"{f.name} (step {f.step}: {f.evidence})" for f in r.findings
                      if f.name not in allowed]
        assert not unexpected, f"{name} {label}: false alarm: {unexpected}"
        assert allowed <= set(raised), f"{name} {label}: {raised}"


def test_the_lessons_cover_every_finding_and_their_cures():
    wanted = set()
    for name in LESSONS:
        e = load_scenario(name).expect
        wanted |= set(e.diagnoses or ())
        assert e.diagnoses or e.no_diagnoses, f"{name}: a lesson says what it shows"
    assert wanted >= set(FINDINGS)
    for cure in ("lesson-vanishing-relu-he", "lesson-lr-right", "lesson-init-xavier",
                 "lesson-exploding-fixed-init"):
        assert load_scenario(cure).expect.no_diagnoses is True


@pytest.mark.parametrize("name", [n for n in LESSONS
                                  if load_scenario(n).expect.diagnoses])
def test_applying_a_lessons_cure_removes_its_finding(name):
    s = load_scenario(name)
    r = run(s)
    for f in r.findings:
        cured = apply_cure(s, f.cure)
        again = run(cured)
        assert again.status == "finished"
        assert f.name not in [g.name for g in again.findings], (name, f.name, f.cure)
        assert again.metrics["loss"] < r.metrics["loss"] or f.name == "overfitting", name


def test_the_vanishing_cure_is_the_relu_he_lesson():
    s = load_scenario("lesson-vanishing-sigmoid")
    f = run(s).findings[0]
    cured = apply_cure(s, f.cure).to_dict()
    relu = load_scenario("lesson-vanishing-relu-he").to_dict()
    assert cured["model"] == relu["model"] and cured["optimizer"] == relu["optimizer"]
    lr = load_scenario("lesson-lr-too-high")
    f = next(f for f in run(lr).findings if f.name == "lr_too_high")
    assert apply_cure(lr, f.cure).optimizer == load_scenario("lesson-lr-right").optimizer


def test_the_exploding_cure_is_the_fixed_init_lesson():
    """Every finding of lesson-exploding-gradients (exploding gradients
    through depth, and the poor initialisation and saturated units behind
    them) has the same cure, and it is lesson-exploding-fixed-init: `c` on
    the alerts screen trains exactly that scenario, whichever is selected."""
    s = load_scenario("lesson-exploding-gradients")
    findings = run(s).findings
    assert "exploding_gradients" in [f.name for f in findings]
    explode = next(f for f in findings if f.name == "exploding_gradients")
    assert explode.explain_key.endswith(".depth") and explode.layer == 0
    assert explode.evidence["ratio"] > 100
    fixed = load_scenario("lesson-exploding-fixed-init").to_dict()
    for f in findings:
        cured = apply_cure(s, f.cure).to_dict()
        assert cured["model"] == fixed["model"], f.name
        assert cured["optimizer"] == fixed["optimizer"] and cured["data"] == fixed["data"]
        assert cured["training"] == fixed["training"] and cured["seed"] == fixed["seed"]


# -------------------------------------------------------------------- cures

def test_apply_cure_edits_a_copy_and_validates_it():
    s = load_scenario("moons")                 # its layer has its own init
    assert s.model.layers[0].init.kind == "he_uniform"
    c = apply_cure(s, {"model.init": "xavier_uniform", "optimizer.lr": 0.001,
                       "model.layers[0].activation": "leaky_relu"}, name="moons, cured")
    assert c.model.init.kind == "xavier_uniform" and c.model.layers[0].init is None
    assert c.optimizer.params["lr"] == 0.001 and c.name == "moons, cured"
    assert c.model.layers[0].activation == "leaky_relu"
    assert s.optimizer.params["lr"] == 0.01 and s.model.layers[0].activation == "relu"
    back = apply_cure(c, {"model.layers[0].activation": "relu"})   # negative_slope dropped
    assert back.model.layers[0].activation == "relu"
    with pytest.raises(CureError, match="model.layers.7"):
        apply_cure(s, {"model.layers[7].units": 3})
    with pytest.raises(ScenarioError, match="optimizer.lr"):
        apply_cure(s, {"optimizer.lr": -1.0})
    lesson = load_scenario("lesson-overfit-small-data")
    assert apply_cure(lesson, {"data.n_samples": 800}).expect.diagnoses is None


# ------------------------------------------------------------- the runner

def test_runner_findings_and_expect():
    r = api.run("lesson-vanishing-sigmoid")
    assert [f.name for f in r.findings] == ["vanishing_gradients"]
    check = next(c for c in r.checks if c.name == "diagnoses")
    assert check.ok and check.message == "diagnoses: ok (vanishing_gradients)"
    f = r.findings[0]
    assert f.layer == 0 and f.step > 0 and f.raised_step > f.step
    assert f.evidence["ratio"] < 1e-3 and 0.1 < f.evidence["factor"] < 0.35


def test_a_runner_without_diagnostics():
    s = load_scenario("lesson-vanishing-sigmoid")
    runner = Runner(s, diagnose=False)
    r = run(s, runner=runner)
    assert r.findings == [] and runner.diagnostician is None
    check = next(c for c in r.checks if c.name == "diagnoses")
    assert not check.ok and "without diagnostics" in check.message


def test_diagnostics_do_not_change_the_numbers():
    s = load_scenario("lesson-lr-too-high")
    a = run(s, runner=Runner(s, diagnose=False))
    b = run(s)
    assert (a.trainer.theta == b.trainer.theta).all()
    assert a.snapshot.step == b.snapshot.step


# ------------------------------------------------------------------ expect

def test_expect_diagnoses_messages():
    want = ExpectSpec(diagnoses=("vanishing_gradients", "dead_relus"))
    [c] = check_findings(want, ["dead_relus", "lr_too_high"])
    assert not c.ok
    assert c.message == ("diagnoses: expected vanishing_gradients to be raised; raised: "
                         "dead_relus, lr_too_high")
    [c] = check_findings(want, [])
    assert c.message.endswith("no finding was raised")
    [c] = check_findings(want, ["vanishing_gradients", "dead_relus", "overfitting"])
    assert c.ok
    none = ExpectSpec(no_diagnoses=True)
    [c] = check_findings(none, ["overfitting", "underfitting"])
    assert not c.ok and c.message == ("no_diagnoses = true: the diagnostics raised "
                                      "overfitting, underfitting")
    assert check_findings(none, [])[0].ok
    assert check_findings(ExpectSpec(no_diagnoses=False), ["overfitting"]) == []
    assert check_findings(ExpectSpec(), ["overfitting"]) == []


def _with_expect(expect_toml: str, tmp_path):
    base = load_scenario("lesson-lr-right").to_dict()
    base.pop("expect")
    import tomllib
    base["expect"] = tomllib.loads(expect_toml)
    return scenario_from_dict(base, source=tmp_path / "s.toml", file_label="s.toml")


def test_expect_keys_are_validated(tmp_path):
    s = _with_expect('loss_below = 1.0\ndiagnoses = ["lr_too_high", "overfitting"]', tmp_path)
    assert s.expect.diagnoses == ("lr_too_high", "overfitting")
    assert s.to_dict()["expect"]["diagnoses"] == ["lr_too_high", "overfitting"]
    assert scenario_from_dict(s.to_dict(), source=s.source) == s
    bad = {
        'diagnoses = ["vanishing_gradient"]':
            "expect.diagnoses[0]: unknown finding 'vanishing_gradient'; did you mean "
            "'vanishing_gradients'?",
        'diagnoses = "lr_too_high"': "expect.diagnoses: expected a list of finding names",
        'diagnoses = ["lr_too_high", "lr_too_high"]': "expect.diagnoses[1]: 'lr_too_high' is "
                                                     "listed twice",
        'diagnoses = ["nonsense"]': "expect.diagnoses[0]: unknown finding 'nonsense' (expected "
                                    "one of 'poor_initialisation'",
        'no_diagnoses = "yes"': "expect.no_diagnoses: expected true or false",
        'no_diagnoses = true\ndiagnoses = ["lr_too_high"]': "expect.no_diagnoses: true "
                                                           "contradicts diagnoses",
        'no_diagnose = true': "expect.no_diagnose: unknown key; did you mean 'no_diagnoses'?",
    }
    for text, message in bad.items():
        with pytest.raises(ScenarioError) as e:
            _with_expect(text, tmp_path)
        assert message in str(e.value), (text, str(e.value))
    no_val = load_scenario("xor").to_dict()
    no_val["expect"]["diagnoses"] = ["overfitting"]
    with pytest.raises(ScenarioError, match=r"expect.diagnoses\[0\]: overfitting is seen on "
                                            r"the validation loss"):
        scenario_from_dict(no_val)


def test_runs_can_expect_diagnoses_each(tmp_path):
    d = load_scenario("lesson-lr-right").to_dict()
    d["expect"] = {"loss_below": 2.0}
    d["runs"] = [{"label": "right", "expect": {"loss_below": 0.1, "no_diagnoses": True}},
                 {"label": "high", "optimizer": {"kind": "sgd", "lr": 30.0},
                  "expect": {"loss_below": 2.0, "diagnoses": ["lr_too_high"]}}]
    s = scenario_from_dict(d, source=tmp_path / "r.toml")
    results = api.run(s)
    assert [r.passed for r in results] == [True, True]
    assert results[0].findings == [] and "lr_too_high" in [f.name for f in results[1].findings]


# ------------------------------------------------------------ traces, replay

def test_findings_in_the_trace_and_the_replay(tmp_path):
    path = tmp_path / "v.jsonl"
    r = api.run("lesson-vanishing-sigmoid", record=path)
    trace = read_trace(path)
    assert trace.header["diagnostics"] == {"every": 5, "planned": 500}
    [line] = trace.findings
    f = r.findings[0]
    assert line["name"] == "vanishing_gradients" and line["step"] == f.raised_step
    assert line["first_step"] == f.step and line["layer"] == 0 and line["epoch"] == f.epoch
    assert line["cure"]["model.init"] == "he_uniform"
    assert line["evidence"]["layers"] == 8 and len(line["evidence"]["per_layer"]) == 8
    assert [x["type"] for x in trace.lines] == ["record"] * 100   # findings kept apart
    ok, msg, _ = compare_trace(trace, rtol=0, atol=0)
    assert ok, msg

    # the replay compares names, steps and layers
    text = path.read_text().splitlines()
    i = next(k for k, t in enumerate(text) if '"type": "finding"' in t)

    def replay_with(new_line):
        p = tmp_path / "edited.jsonl"
        lines = list(text)
        if new_line is None:
            del lines[i]
        else:
            lines[i] = new_line
        p.write_text("\n".join(lines) + "\n")
        return compare_trace(read_trace(p))

    moved = json.loads(text[i]) | {"step": f.raised_step + 5}
    ok, msg, _ = replay_with(json.dumps(moved))
    assert not ok and msg == (f"finding vanishing_gradients: recorded at step "
                              f"{f.raised_step + 5}, replay at step {f.raised_step}")
    ok, msg, _ = replay_with(None)
    assert not ok and msg == (f"finding vanishing_gradients: raised by the replay at step "
                              f"{f.raised_step}, not in the trace")
    other = json.loads(text[i]) | {"name": "dead_relus"}
    ok, msg, _ = replay_with(json.dumps(other))
    assert not ok and msg.startswith("finding dead_relus: recorded at step")
    layer = json.loads(text[i]) | {"layer": 3}
    ok, msg, _ = replay_with(json.dumps(layer))
    assert not ok and msg.endswith("recorded for layer 4, replay 1")


def test_a_finding_at_step_0_and_at_the_divergence(tmp_path):
    p0 = tmp_path / "zero.jsonl"
    api.run("lesson-init-zero", record=p0)
    t = read_trace(p0)
    assert [(x["name"], x["step"], x["first_step"]) for x in t.findings] == [
        ("poor_initialisation", 0, 0)]
    assert compare_trace(t, rtol=0, atol=0)[0]
    # a run that diverges: named at the step it diverged
    s = load_scenario("lesson-lr-right").to_dict()
    s["optimizer"]["lr"] = 1e6
    s["expect"] = {"diverges": True}
    s = scenario_from_dict(s, source=tmp_path / "div.toml")
    p = tmp_path / "div.jsonl"
    r = run(s, record=p)
    assert r.status == "diverged" and r.passed
    f = next(f for f in r.findings if f.name == "lr_too_high")
    assert f.raised_step == r.snapshot.step and f.explain_key.rsplit(".", 1)[1] in ("nan",
                                                                                  "exploded")
    assert compare_trace(read_trace(p), rtol=0, atol=0)[0]


def test_trace_reader_checks_finding_lines(tmp_path):
    path = tmp_path / "v.jsonl"
    api.run("lesson-init-zero", record=path)
    lines = path.read_text().splitlines()
    i = next(k for k, t in enumerate(lines) if '"type": "finding"' in t)
    for key, value, message in (("name", 3, "name is 3, expected a string"),
                                ("layer", "x", 'layer is "x", expected an integer or null'),
                                ("evidence", [1], "evidence is list, expected a JSON object")):
        bad = json.loads(lines[i]) | {key: value}
        p = tmp_path / f"bad-{key}.jsonl"
        p.write_text("\n".join(lines[:i] + [json.dumps(bad)] + lines[i + 1:]) + "\n")
        with pytest.raises(TraceError) as e:
            read_trace(p)
        assert f"line {i + 1}" in str(e.value) and message in str(e.value)
    header = json.loads(lines[0]) | {"diagnostics": {"every": 0, "planned": 1}}
    p = tmp_path / "bad-header.jsonl"
    p.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    with pytest.raises(TraceError, match="diagnostics"):
        read_trace(p)


def test_a_trace_started_mid_run_holds_the_findings_so_far(tmp_path):
    s = load_scenario("lesson-vanishing-sigmoid")
    runner = Runner(s)
    runner.advance_to(100)
    assert [f.name for f in runner.findings] == ["vanishing_gradients"]
    path = tmp_path / "mid.jsonl"
    runner.start_recording(path)
    runner.advance_to(200)
    runner.stop_recording()
    t = read_trace(path)
    assert [x["name"] for x in t.findings] == ["vanishing_gradients"]
    assert compare_trace(t, rtol=0, atol=0)[0]


# -------------------------------------------------------------- the command

def _finding_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.match(r"^(finding|diagnóstico): ", line)]


def test_run_prints_the_findings_after_the_summary(capsys, lang, monkeypatch):
    monkeypatch.setenv("SIMTREINO_LANG", "en")
    assert main(["run", "lesson-vanishing-sigmoid", "-q"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Lesson: vanishing gradients (deep sigmoid network): finished")
    assert "expect: ok (2 checks)" in out[0]
    [line] = _finding_lines("\n".join(out))
    assert out[1] == line
    assert line.startswith("finding: vanishing gradients (step ")
    assert ", layer 1): The gradient fades as it flows back through the 8 layers" in line
    assert "Suggested cure: Use ReLU in the hidden layers" in line

    monkeypatch.setenv("SIMTREINO_LANG", "pt")
    assert main(["run", "lesson-vanishing-sigmoid", "-q"]) == 0
    [line] = _finding_lines(capsys.readouterr().out)
    assert line.startswith("diagnóstico: desvanecimento do gradiente (passo ")
    assert "camada 1): O gradiente desvanece" in line and "Sugestão: Use ReLU" in line


def test_run_prints_no_finding_line_for_a_healthy_run(capsys, monkeypatch, lang):
    monkeypatch.setenv("SIMTREINO_LANG", "en")
    assert main(["run", "xor", "-q"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and _finding_lines(out) == []


def test_a_failed_diagnosis_expect_fails_the_run(capsys, tmp_path, monkeypatch, lang):
    monkeypatch.setenv("SIMTREINO_LANG", "en")
    text = load_scenario("lesson-lr-too-high").source.read_text(encoding="utf-8")
    p = tmp_path / "wrong.toml"
    p.write_text(text.replace('diagnoses = ["lr_too_high", "saturated_units"]',
                              "no_diagnoses = true"), encoding="utf-8")
    assert main(["run", str(p), "-q"]) == 1
    out = capsys.readouterr().out
    assert ("expect: FAILED: no_diagnoses = true: the diagnostics raised saturated_units, "
            "lr_too_high") in out
    assert len(_finding_lines(out)) == 2


def test_a_cured_copy_gets_its_own_name_and_description():
    s = load_scenario("lesson-vanishing-sigmoid")
    cured = apply_cure(s, {"model.init": "he_uniform"}, name="copy", description="what changed")
    assert (cured.name, cured.name_pt, cured.description, cured.description_pt) == (
        "copy", "copy", "what changed", "what changed")
    assert apply_cure(s, {"model.init": "he_uniform"}).description == s.description
