"""Scenarios that compare runs ([[runs]]): validation, variants, the
command line (one line and one trace per run) and the live session."""

from pathlib import Path

import numpy as np
import pytest

from simtreino import api
from simtreino.cli import main
from simtreino.headless.session import LiveSession
from simtreino.scenario import ScenarioError, load_scenario, scenario_from_dict
from simtreino.scenario.build import build_trainer

XOR = (Path(__file__).parents[2] / "scenarios" / "xor.toml").read_text()
RUNS = """
[[runs]]
label = "SGD"

[[runs]]
label = "Adam"
optimizer = { kind = "adam", lr = 0.05 }
batch_size = 2
expect = { loss_below = 0.5 }
"""


def write(tmp_path, text, name="runs.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_runs_resolve_against_the_scenario(tmp_path):
    s = load_scenario(write(tmp_path, XOR + RUNS))
    sgd, adam = s.runs
    assert sgd.optimizer == s.optimizer and sgd.expect == s.expect
    assert sgd.batch_size == s.training.batch_size
    assert adam.optimizer.kind == "adam" and adam.optimizer.params["betas"] == (0.9, 0.999)
    assert adam.batch_size == 2 and adam.expect.loss_below == 0.5
    assert scenario_from_dict(s.to_dict(), s.source) == s
    (l1, v1), (l2, v2) = s.variants()
    assert (l1, l2) == ("SGD", "Adam") and v2.runs == () and v2.optimizer.kind == "adam"
    assert v2.name == f"{s.name} [Adam]" and v2.training.batch_size == 2
    # the same initial weights: only the optimizer differs
    assert np.array_equal(build_trainer(v1).theta, build_trainer(v2).theta)


@pytest.mark.parametrize("runs,key,words", [
    ('[[runs]]\nlabel = "A"\n[[runs]]\nlabel = "A"\n', "runs[1].label", "already the label"),
    ('[[runs]]\noptimizer = { kind = "sgd" }\n', "runs[0].label", "missing"),
    ('[[runs]]\nlabel = "A"\noptimizer = { kind = "adma" }\n', "runs[0].optimizer.kind",
     "did you mean 'adam'"),
    ('[[runs]]\nlabel = "A"\noptimizer = { kind = "sgd", betas = [0.9, 0.9] }\n',
     "runs[0].optimizer.betas", "a setting of adam"),
    ('[[runs]]\nlabel = "A"\nbatch_size = 0\n', "runs[0].batch_size", '"full" or an integer'),
    ('[[runs]]\nlabel = "A"\nepochs = 3\n', "runs[0].epochs", "unknown key"),
    ('[[runs]]\nlabel = "A"\nexpect = { val_loss_below = 1 }\n', "runs[0].expect.val_loss_below",
     "no val split"),
])
def test_bad_runs_name_the_key(tmp_path, runs, key, words):
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(tmp_path, XOR + "\n" + runs))
    assert e.value.key == key, str(e.value)
    assert words in str(e.value)


def test_runs_must_be_an_array_of_tables(tmp_path):
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(tmp_path, "runs = 3\n" + XOR))
    assert e.value.key == "runs" and "array of tables" in str(e.value)


def test_cli_runs_each_and_writes_one_trace_per_run(tmp_path, capsys):
    path = write(tmp_path, XOR + RUNS)
    trace = tmp_path / "t.jsonl"
    assert main(["run", str(path), "--epochs", "40", "--record", str(trace)]) in (0, 1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "[SGD]" in lines[0] and "[Adam]" in lines[1]
    for label in ("sgd", "adam"):
        (r,) = api.replay(tmp_path / f"t-{label}.jsonl")
        assert r.ok, r.message
    results = api.run(load_scenario(path), epochs=40)
    assert [r.scenario.optimizer.kind for r in results] == ["sgd", "adam"]


def test_live_session_trains_runs_in_lockstep_and_switches(tmp_path):
    s = LiveSession(load_scenario(write(tmp_path, XOR + RUNS)))
    s.start()
    try:
        s.step(6)
        s.wait_idle()
        v = s.view
        assert [label for label, _ in v.runs] == ["SGD", "Adam"]
        sgd, adam = s._runners
        # SGD is full batch (1 step an epoch), Adam takes batches of 2 (2 steps an epoch)
        assert sgd.trainer.step == 6 and adam.trainer.step == 12
        assert len(v.runs[0][1]["epoch"]) == len(v.runs[1][1]["epoch"]) == 6
        assert v.scenario.optimizer.kind == "sgd"
        s.select_run(1)
        s.wait_idle()
        assert s.view.run_index == 1 and s.view.scenario.optimizer.kind == "adam"
        assert s.trainer is adam.trainer
        s.set_hyper({"lr": 0.01})            # the form acts on the run shown
        s.wait_idle()
        assert adam.trainer.lr == 0.01 and sgd.trainer.lr == 0.5
    finally:
        s.close()
