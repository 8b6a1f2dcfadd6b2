"""Headless building blocks: parameter files, traces, [expect], the runner
and replay, driven through their Python functions."""

import json
import math

import numpy as np
import pytest

from simtreino.headless.errors import ParamsError, TraceError
from simtreino.headless.expect import check_expect
from simtreino.headless.params import load_params, param_keys, save_params
from simtreino.headless.replay import compare_trace, prepare_items, replay_item
from simtreino.headless.runner import Runner, run
from simtreino.headless.trace import TraceWriter, read_trace
from simtreino.scenario import ScenarioError, load_scenario
from simtreino.scenario.build import build_trainer
from simtreino.scenario.schema import ExpectSpec

from headless_tools import CSV_SCENARIO, write_moons


@pytest.fixture
def moons(tmp_path):
    return load_scenario(write_moons(tmp_path))


def one_line(err) -> str:
    s = str(err)
    assert "\n" not in s
    return s


# ------------------------------------------------------------------ params
def test_params_round_trip_in_torch_layout(tmp_path, moons):
    tr = build_trainer(moons)
    tr.run_steps(3)
    path = tmp_path / "p.npz"
    save_params(path, tr)
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(param_keys(tr.arch))
        assert npz["layers.0.weight"].shape == (8, 2)      # (out, in), like nn.Linear
        assert npz["layers.1.bias"].shape == (1,)
        np.testing.assert_array_equal(npz["layers.0.weight"], tr.weight(0))
    theta = load_params(path, tr.arch, tr.dtype)
    np.testing.assert_array_equal(theta, tr.theta)
    # (arch, theta) works too, and float32 loads by casting
    save_params(tmp_path / "q.npz", tr.arch, tr.theta * 2)
    q = load_params(tmp_path / "q.npz", tr.arch, np.float32)
    assert q.dtype == np.float32
    np.testing.assert_allclose(q, tr.theta * 2, rtol=1e-6)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def _arrays(tr):
    return {f"layers.{i}.{part}": (tr.weight(i) if part == "weight" else tr.bias(i)).copy()
            for i in range(len(tr.arch.layers)) for part in ("weight", "bias")}


@pytest.mark.parametrize("change, words", [
    (lambda a: a.pop("layers.1.bias"), ["layers.1.bias", "missing", "(1,)"]),
    (lambda a: a.update({"layers.2.weight": np.zeros((1, 1))}), ["layers.2.weight", "unexpected"]),
    (lambda a: a.update({"layers.0.weight": np.zeros((2, 8))}),
     ["layers.0.weight", "(2, 8)", "expected (8, 2)"]),
    (lambda a: a["layers.0.bias"].__setitem__(3, np.nan), ["layers.0.bias", "NaN"]),
    (lambda a: a.update({"layers.0.bias": np.array(["a"] * 8)}), ["layers.0.bias", "numbers"]),
])
def test_params_rejects_bad_files_in_one_line(tmp_path, moons, change, words):
    tr = build_trainer(moons)
    arrays = _arrays(tr)
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ParamsError) as e:
        load_params(path, tr.arch)
    msg = one_line(e.value)
    assert msg.startswith(str(path))
    for w in words:
        assert w in msg


def test_params_never_unpickles(tmp_path, moons):
    tr = build_trainer(moons)
    arrays = _arrays(tr)
    arrays["layers.0.bias"] = np.array([object()] * 8, dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)
    with pytest.raises(ParamsError) as e:
        load_params(path, tr.arch)
    assert "layers.0.bias" in one_line(e.value)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ParamsError, match="not a .npz"):
        load_params(tmp_path / "text.npz", tr.arch)
    with pytest.raises(ParamsError, match="cannot read"):
        load_params(tmp_path / "absent.npz", tr.arch)


# ------------------------------------------------------------------- trace
def _strict(line):
    return json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_trace_writes_strict_json_and_reads_back(tmp_path, moons):
    tr = build_trainer(moons)
    path = tmp_path / "t.jsonl"
    w = TraceWriter(path, {"scenario": moons.to_dict(), "scenario_file": None, "seed": 0,
                           "record_every": 6, "init_params": None})
    w.record(tr.snapshot())            # before any epoch: losses are NaN
    w.event(0, "betas", (0.8, 0.9))
    w.end("finished", 0, 0)
    w.close()
    lines = [_strict(l) for l in path.read_text().splitlines()]
    assert [l["type"] for l in lines] == ["header", "record", "event", "end"]
    assert lines[1]["loss"] is None and lines[2]["value"] == [0.8, 0.9]
    t = read_trace(path)
    assert t.end["status"] == "finished" and len(t.records) == 1 and not t.truncated


def _run_recorded(scenario, path, **kw):
    return run(scenario, record=path, **kw)


def test_truncated_last_line_is_tolerated_and_said(tmp_path, moons):
    path = tmp_path / "t.jsonl"
    _run_recorded(moons, path, record_every=2)
    text = path.read_text()
    cut = text[: text.rindex("\n", 0, len(text) - 1) + 1] + '{"type": "rec'
    path.write_text(cut)
    t = read_trace(path)
    assert t.truncated and t.end is None
    ok, msg, notes = compare_trace(t)
    assert ok, msg
    assert any("incomplete" in n for n in notes) and any("no end record" in n for n in notes)


@pytest.mark.parametrize("mangle, where", [
    (lambda ls: ls[:3] + ["{not json"] + ls[3:], "line 4: not valid JSON"),
    (lambda ls: ls[1:], "line 1: expected a header"),
    (lambda ls: ls + [ls[1]], "lines after the end record"),
    (lambda ls: ls[:2] + ['{"type": "record", "step": "x"}'] + ls[2:], "line 3: step is \"x\""),
    (lambda ls: ls[:2] + ['{"type": "bogus"}'] + ls[2:], "line 3: unknown record type"),
])
def test_garbage_inside_a_trace_is_an_error_naming_the_line(tmp_path, moons, mangle, where):
    path = tmp_path / "t.jsonl"
    _run_recorded(moons, path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(mangle(lines)) + "\n")
    with pytest.raises(TraceError) as e:
        read_trace(path)
    assert where in one_line(e.value)
    assert str(path) in str(e.value)


# ------------------------------------------------------------------ expect
def test_expect_checks_name_value_found():
    m = {"loss": 0.3, "accuracy": 0.9, "val_loss": None, "val_accuracy": None,
         "test_loss": 0.2, "test_accuracy": 1.0}
    res = check_expect(ExpectSpec(loss_below=0.1, accuracy_at_least=0.9, test_loss_below=0.5,
                                  val_accuracy_at_least=0.5), m, diverged=False)
    by = {r.name: r for r in res}
    assert not by["loss_below"].ok and "found 0.3" in by["loss_below"].message
    assert by["accuracy_at_least"].ok and by["test_loss_below"].ok
    assert not by["val_accuracy_at_least"].ok and "no val split" in by["val_accuracy_at_least"].message
    # divergence without diverges = true always fails; with it, it passes
    assert [r.ok for r in check_expect(ExpectSpec(), m, diverged=True)] == [False]
    assert [r.ok for r in check_expect(ExpectSpec(diverges=True), m, diverged=True)] == [True]
    assert [r.ok for r in check_expect(ExpectSpec(diverges=True), m, diverged=False)] == [False]
    nan = dict(m, loss=math.nan)
    assert not check_expect(ExpectSpec(loss_below=1.0), nan, diverged=False)[0].ok


# ------------------------------------------------------------- run, replay
def test_run_reports_metrics_of_every_split(moons):
    r = run(moons)
    assert r.status == "finished" and r.snapshot.epoch == 5 and r.snapshot.step == 30
    for k in ("val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert r.metrics[k] is not None and math.isfinite(r.metrics[k])
    assert r.passed and r.checks == [] and r.exit_code == 0


def test_record_then_replay_passes_and_an_edit_fails_at_its_step(tmp_path, moons):
    path = tmp_path / "t.jsonl"
    res = _run_recorded(moons, path, record_every=4)
    lines = [json.loads(l) for l in path.read_text().splitlines()]
    steps = [l["step"] for l in lines if l["type"] == "record"]
    assert steps == [4, 8, 12, 16, 20, 24, 28, 30]     # every 4, and the final step
    assert lines[0]["record_every"] == 4 and lines[-1] == {
        "type": "end", "status": "finished", "step": 30, "epoch": 5}
    assert lines[-2]["loss"] == res.snapshot.loss
    ok, msg, _ = compare_trace(read_trace(path))
    assert ok, msg
    # change one value at step 16: the replay names that step and key
    lines[4]["val_loss"] *= 1.001
    path.write_text("".join(json.dumps(l) + "\n" for l in lines))
    ok, msg, _ = compare_trace(read_trace(path))
    assert not ok
    assert msg.startswith("step 16: val_loss recorded")
    # a looser tolerance accepts it
    ok, _, _ = compare_trace(read_trace(path), rtol=1e-2)
    assert ok


def test_events_are_recorded_and_replayed(tmp_path, moons):
    path = tmp_path / "events.jsonl"
    runner = Runner(moons, record=path, record_every=6)
    runner.advance_to(10)
    assert runner.trainer.step == 10
    runner.trainer.set_hyper("lr", 0.5)
    runner.advance_to(20)
    runner.trainer.set_hyper("batch_size", 8)
    run(moons, runner=runner)
    lines = [json.loads(l) for l in path.read_text().splitlines()]
    events = [l for l in lines if l["type"] == "event"]
    assert events == [{"type": "event", "step": 10, "key": "lr", "value": 0.5},
                      {"type": "event", "step": 20, "key": "batch_size", "value": 8}]
    ok, msg, _ = compare_trace(read_trace(path))
    assert ok, msg
    assert "2 event(s)" in msg
    # without the events the replay must go its own way
    path.write_text("".join(json.dumps(l) + "\n" for l in lines if l["type"] != "event"))
    ok, msg, _ = compare_trace(read_trace(path))
    assert not ok and msg.startswith("step 12:")


def test_on_chunk_can_change_settings_mid_run(tmp_path, moons):
    path = tmp_path / "t.jsonl"

    def slow_down(runner):
        if runner.trainer.step >= 12 and not runner.trainer.events:
            runner.trainer.set_hyper("lr", 0.01)

    run(moons, record=path, on_chunk=slow_down, record_every=1)
    t = read_trace(path)
    assert [e["key"] for e in t.events] == ["lr"]
    assert compare_trace(t)[0]


def test_init_params_are_embedded_and_used(tmp_path, moons):
    tr = build_trainer(moons)
    theta = tr.theta * 0.5
    pfile = tmp_path / "init.npz"
    save_params(pfile, tr.arch, theta)
    path = tmp_path / "t.jsonl"
    res = run(moons, init_params=pfile, record=path, save_params_to=tmp_path / "out.npz")
    header = read_trace(path).header
    assert header["init_params"] == [float(v) for v in theta]
    assert compare_trace(read_trace(path))[0]
    np.testing.assert_array_equal(load_params(tmp_path / "out.npz", tr.arch), res.trainer.theta)
    # without them the replay starts from the seeded weights and differs
    lines = path.read_text().splitlines()
    h = json.loads(lines[0])
    h["init_params"] = None
    path.write_text("\n".join([json.dumps(h)] + lines[1:]) + "\n")
    assert not compare_trace(read_trace(path))[0]


def test_divergence_is_recorded_and_replayed(tmp_path):
    s = load_scenario(write_moons(tmp_path, lr=1e9, epochs=20))
    path = tmp_path / "t.jsonl"
    r = run(s, record=path)
    assert r.status == "diverged" and r.snapshot.divergence in ("nan", "exploded")
    t = read_trace(path)
    assert t.end["status"] == "diverged" and t.end["step"] == r.snapshot.step
    assert r.exit_code == 1 and r.failures[0].name == "diverges"
    assert compare_trace(t)[0]


def test_csv_is_found_next_to_the_scenario_or_the_trace(tmp_path):
    src = tmp_path / "course"
    src.mkdir()
    (src / "flowers.csv").write_text(
        "petal_length,species,petal_width\n" + "".join(
            f"{1.2 + i * 0.1:.2f},{sp},{w + i * 0.05:.2f}\n"
            for i in range(6) for sp, w in (("setosa", 0.2), ("versicolor", 1.3),
                                            ("virginica", 2.1))))
    (src / "flowers.toml").write_text(CSV_SCENARIO)
    traces = tmp_path / "traces"
    traces.mkdir()
    path = traces / "flowers.jsonl"
    run(load_scenario(src / "flowers.toml"), record=path)
    assert compare_trace(read_trace(path))[0]
    # the course folder moved away: the csv is looked for next to the trace
    moved = tmp_path / "moved"
    src.rename(moved)
    with pytest.raises(ScenarioError, match="data.path"):
        compare_trace(read_trace(path))
    (traces / "flowers.csv").write_bytes((moved / "flowers.csv").read_bytes())
    assert compare_trace(read_trace(path))[0]


def test_replay_items_expand_folders_and_check_input_first(tmp_path):
    write_moons(tmp_path, "a", expect="[expect]\nloss_below = 10.0\n")
    write_moons(tmp_path, "b", expect="[expect]\nloss_below = 0.000001\n")
    run(load_scenario(tmp_path / "a.toml"), record=tmp_path / "a.jsonl")
    (tmp_path / "notes.txt").write_text("ignored")
    items = prepare_items([str(tmp_path)])
    assert [(i.kind, i.name.rsplit("/", 1)[-1]) for i in items] == [
        ("trace", "a.jsonl"), ("scenario", "a.toml"), ("scenario", "b.toml")]
    results = [replay_item(i) for i in items]
    assert [r.ok for r in results] == [True, True, False]
    assert "loss_below" in results[2].message and "found" in results[2].message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception, match="no \\*.toml or \\*.jsonl"):
        prepare_items([str(empty)])


# ----------------------------------------------- small pieces: files, text
def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    from simtreino.headless.atomic import atomic_open
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write(b"half of the new")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    with atomic_open(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"
    with pytest.raises(OSError):
        with atomic_open(tmp_path / "no" / "folder.bin") as f:
            pass


def test_junit_xml_escapes_messages():
    from simtreino.headless.junit import junit_xml
    from simtreino.headless.replay import ItemResult
    import xml.etree.ElementTree as ET
    results = [ItemResult("a<b>&c.jsonl", "trace", False, 'step 3: loss "x" < 1 & \x01', 0.5),
               ItemResult("ok.toml", "scenario", True, "loss 0.1", 0.25, notes=["note"]),
               ItemResult("bad.toml", "scenario", False, "bad.toml: data: broken", 0.0, error=True)]
    root = ET.fromstring(junit_xml(results, 1.0))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert cases[0].get("name") == "a<b>&c.jsonl"
    assert cases[0].find("failure").get("message") == 'step 3: loss "x" < 1 & '
    assert cases[1].find("failure") is None and "note" in cases[1].find("system-out").text
    assert cases[2].find("error") is not None


def test_progress_line_and_compile_notice():
    import io
    import time
    from simtreino.headless.progress import CompileNotice, Progress
    snap = type("S", (), {"epoch": 3, "loss": 0.25, "accuracy": math.nan})()
    buf = io.StringIO()
    p = Progress(buf, 10, enabled=True)
    p.update(snap, 1234.0)
    p.update(snap, 1234.0)                 # redraws are rate-limited
    p.clear()
    assert buf.getvalue() == ("\repoch 3/10  loss 0.25  accuracy -  1,234 steps/s\x1b[K"
                              "\r\x1b[K")
    off = io.StringIO()
    Progress(off, 10, enabled=False).update(snap, 1.0)
    assert off.getvalue() == ""
    # a first call that takes long shows the notice; a quick one does not
    slow = io.StringIO()
    with CompileNotice(slow, delay=0.01) as n:
        for _ in range(1000):              # bounded wait for the timer thread
            if n.shown:
                break
            time.sleep(0.01)
    assert slow.getvalue() == "compiling kernels (first run only)…\n"
    quick = io.StringIO()
    with CompileNotice(quick, delay=60):
        pass
    assert quick.getvalue() == ""


def test_a_trace_whose_scenario_does_not_validate_is_unusable(tmp_path, moons):
    path = tmp_path / "t.jsonl"
    run(moons, record=path)
    lines = path.read_text().splitlines()
    h = json.loads(lines[0])
    h["scenario"]["optimizer"]["lr"] = "fast"
    path.write_text("\n".join([json.dumps(h)] + lines[1:]) + "\n")
    with pytest.raises(ScenarioError) as e:
        prepare_items([str(path)])
    assert one_line(e.value).startswith(f"{path}: header.scenario: optimizer.lr: ")
