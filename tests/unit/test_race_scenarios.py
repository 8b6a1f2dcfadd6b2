"""Race scenario files (kind = "race"): validation, round trip, headless
run, trace and replay, and the command line."""

import json
from pathlib import Path

import numpy as np
import pytest

import simtreino.api as api
from simtreino.cli import main
from simtreino.core.functions2d import FUNCTIONS
from simtreino.headless.race_run import run_race
from simtreino.headless.trace import read_trace
from simtreino.scenario import ScenarioError, load_scenario, scenario_from_dict

RAVINE = """\
schema_version = 1
kind = "race"
name = "test race"

[surface]
function = "ravine"

[training]
steps = 50

[[racers]]
label = "SGD"
kind = "sgd"
lr = 0.9
expect = { distance_at_least = 0.5 }

[[racers]]
kind = "momentum"
lr = 0.2
expect = { distance_below = 1.0 }
"""


def write(tmp_path: Path, text: str, name: str = "race.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def error_of(tmp_path, text) -> ScenarioError:
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(tmp_path, text))
    return e.value


def test_race_file_loads_with_defaults(tmp_path):
    s = load_scenario(write(tmp_path, RAVINE))
    spec = FUNCTIONS["ravine"]
    assert s.kind == "race" and s.steps == 50
    assert s.surface.start == spec.start and s.surface.domain == spec.domain
    assert s.surface.scale == "linear"
    assert [r.label for r in s.racers] == ["SGD", "momentum"]   # label defaults to kind
    assert s.racers[1].optimizer.params["momentum"] == 0.9        # the kind's default
    assert s.racers[1].optimizer.params["lr"] == 0.2
    assert s.racers[0].expect.distance_at_least == 0.5


def test_race_round_trips_through_a_dict(tmp_path):
    s = load_scenario(write(tmp_path, RAVINE))
    d = s.to_dict()
    json.dumps(d)                              # plain data, as a trace header needs
    assert scenario_from_dict(d, source=s.source) == s


@pytest.mark.parametrize("edit,key,words", [
    (("function = \"ravine\"", "function = \"ravin\""), "surface.function", "did you mean 'ravine'"),
    (("function = \"ravine\"", "function = \"ravine\"\nstart = [1, 2, 3]"), "surface.start",
     "2 finite numbers"),
    (("function = \"ravine\"", "function = \"ravine\"\ndomain = [1, -1, 0, 1]"), "surface.domain",
     "xmin < xmax"),
    (("function = \"ravine\"", "function = \"ravine\"\nscale = \"loggy\""), "surface.scale",
     "did you mean 'log'"),
    (("steps = 50", "steps = 0"), "training.steps", "in [1, 100000], got 0"),
    (("steps = 50", "steps = 1000000"), "training.steps", "in [1, 100000], got 1000000"),
    (("steps = 50", "epochs = 50"), "training.epochs", "use steps"),
    (("lr = 0.9", "lr = -1"), "racers[0].lr", ">= 0"),
    (("lr = 0.9", "lr = 0.9\nbetas = [0.9, 0.99]"), "racers[0].betas", "a setting of adam"),
    (("kind = \"sgd\"", "kind = \"sgdd\""), "racers[0].kind", "did you mean 'sgd'"),
    (("expect = { distance_at_least = 0.5 }", "expect = { distance_beloww = 0.5 }"),
     "racers[0].expect.distance_beloww", "did you mean 'distance_below'"),
    (("expect = { distance_at_least = 0.5 }", "expect = {}"), "racers[0].expect",
     "at least one check"),
    (("label = \"SGD\"", "label = \"momentum\""), "racers[1].label", "already the label"),
    (("kind = \"race\"", "kind = \"racing\""), "kind", "did you mean 'race'"),
])
def test_bad_race_files_name_the_key(tmp_path, edit, key, words):
    e = error_of(tmp_path, RAVINE.replace(*edit))
    assert e.key == key, str(e)
    assert words in str(e), str(e)
    assert "\n" not in str(e)


def test_network_tables_in_a_race_and_race_tables_in_a_network(tmp_path):
    e = error_of(tmp_path, RAVINE + "\n[optimizer]\nkind = \"sgd\"\n")
    assert e.key == "optimizer" and "each racer has its own optimizer" in str(e)
    xor = Path(__file__).parents[2] / "scenarios" / "xor.toml"
    text = xor.read_text() + '\n[surface]\nfunction = "ravine"\n'
    e = error_of(tmp_path, text)
    assert e.key == "surface" and 'kind = "race"' in str(e)


def test_missing_racers(tmp_path):
    text = RAVINE.split("[[racers]]")[0]
    e = error_of(tmp_path, text)
    assert e.key == "racers" and "missing" in str(e)


HIMMELBLAU = """\
schema_version = 1
kind = "race"
name = "h"

[surface]
function = "himmelblau"
start = [-0.3, -0.9]

[training]
steps = 300

[[racers]]
kind = "sgd"
lr = 0.01
expect = { ends_near = [-3.77931, -3.283186] }
"""


def test_ends_near_checks_which_minimum_a_racer_reaches(tmp_path):
    s = load_scenario(write(tmp_path, HIMMELBLAU))
    assert s.racers[0].expect.ends_near == FUNCTIONS["himmelblau"].minima[2]
    assert run_race(s).passed
    s = load_scenario(write(tmp_path, HIMMELBLAU.replace("[-3.77931, -3.283186]", "[3, 2]")))
    (bad,) = run_race(s).failures
    assert bad.message == "sgd: expected to end nearest (3, 2), found nearest (-3.779, -3.283)"


def test_ends_near_must_be_a_known_minimum(tmp_path):
    e = error_of(tmp_path, HIMMELBLAU.replace("[-3.77931, -3.283186]", "[3, 3]"))
    assert e.key == "racers[0].expect.ends_near"
    assert "known minima of 'himmelblau'" in str(e) and "[3, 2]" in str(e)


def test_nesterov_needs_momentum(tmp_path):
    e = error_of(tmp_path, RAVINE.replace('kind = "momentum"', 'kind = "nesterov"\nmomentum = 0'))
    assert e.key == "racers[1].nesterov"


# ---------------------------------------------------------------- running
def test_run_checks_every_racer(tmp_path):
    s = load_scenario(write(tmp_path, RAVINE))
    r = run_race(s)
    assert r.status == "finished" and r.steps == 50
    assert [c.name for c in r.checks] == ["SGD.distance_at_least", "momentum.distance_below"]
    assert r.passed and r.exit_code == 0
    sgd = r.racers[0]
    assert sgd.point == tuple(r.race.path[0, 50])
    assert sgd.distance == pytest.approx(np.hypot(*sgd.point))


def test_a_failed_check_names_the_racer_and_value(tmp_path):
    s = load_scenario(write(tmp_path, RAVINE.replace("distance_below = 1.0",
                                                      "distance_below = 0.001")))
    r = run_race(s)
    assert not r.passed and r.exit_code == 1
    (bad,) = r.failures
    assert bad.message.startswith("momentum: expected distance to the nearest minimum < 0.001")


def test_an_unexpected_divergence_fails_and_an_expected_one_passes(tmp_path):
    s = load_scenario(write(tmp_path, RAVINE.replace("lr = 0.9", "lr = 5.0")))
    r = run_race(s)
    assert [c.name for c in r.failures][0] == "SGD.diverges"
    assert "diverged at step" in r.failures[0].message
    s = load_scenario(write(tmp_path, RAVINE.replace("lr = 0.9", "lr = 5.0").replace(
        "distance_at_least = 0.5", "diverges = true")))
    assert run_race(s).passed


def test_trace_records_every_step_and_replays(tmp_path):
    s = load_scenario(write(tmp_path, RAVINE))
    trace = tmp_path / "race.jsonl"
    r = run_race(s, record=trace, record_every=5)
    t = read_trace(trace)
    assert t.header["kind"] == "race"
    steps = [rec["step"] for rec in t.records]
    assert steps == list(range(0, 51, 5))
    last = t.records[-1]
    assert np.allclose(np.array(last["points"]), r.race.path[:, 50], rtol=0, atol=0)
    assert t.end["status"] == "finished" and t.end["step"] == 50
    (res,) = api.replay(trace)
    assert res.ok, res.message


def test_a_tampered_race_trace_fails_naming_step_racer_and_key(tmp_path):
    s = load_scenario(write(tmp_path, RAVINE))
    trace = tmp_path / "race.jsonl"
    run_race(s, record=trace, record_every=10)
    lines = trace.read_text().splitlines()
    rec = json.loads(lines[3])
    rec["points"][1][1] += 1e-3
    lines[3] = json.dumps(rec)
    trace.write_text("\n".join(lines) + "\n")
    (res,) = api.replay(trace)
    assert not res.ok
    assert res.message.startswith(f"step {rec['step']}: momentum y recorded")


def test_a_malformed_race_record_is_refused(tmp_path):
    s = load_scenario(write(tmp_path, RAVINE))
    trace = tmp_path / "race.jsonl"
    run_race(s, record=trace, record_every=25)
    lines = trace.read_text().splitlines()
    rec = json.loads(lines[1])
    rec["points"] = [[1.0]]
    lines[1] = json.dumps(rec)
    trace.write_text("\n".join(lines) + "\n")
    assert main(["replay", str(trace)]) == 2


# ------------------------------------------------------------ command line
def test_cli_run_prints_one_summary_line(tmp_path, capsys):
    path = write(tmp_path, RAVINE)
    assert main(["run", str(path), "--steps", "20"]) == 1   # SGD is still near (distance ok), momentum not
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("test race: 20 steps")
    assert main(["run", str(path)]) == 0


@pytest.mark.parametrize("option", [["--epochs", "3"], ["--seed", "1"],
                                    ["--save-params", "x.npz"]])
def test_cli_refuses_network_options_for_a_race(tmp_path, capsys, option):
    path = write(tmp_path, RAVINE)
    assert main(["run", str(path), *option]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option[0] in err and "race" in err


def test_cli_refuses_steps_for_a_network(capsys):
    assert main(["run", "xor", "--steps", "3"]) == 2
    assert "--steps" in capsys.readouterr().err


def test_explain_refuses_a_race(capsys):
    assert main(["explain", "race-ravine"]) == 2
    assert "race" in capsys.readouterr().err


def test_api_run_dispatches_races():
    r = api.run("race-saddle", steps=10)
    assert r.steps == 10 and len(r.racers) == 3
    with pytest.raises(ValueError):
        api.run("race-saddle", epochs=3)
    with pytest.raises(ValueError):
        api.run("xor", steps=3)
