"""The ``simtreino`` command: exit codes, one-line errors, what it prints.

Most cases call ``simtreino.cli.main`` in-process; a few run the real
command in a subprocess (no traceback on bad input, Ctrl+C, --help)."""

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from simtreino.cli import main
from simtreino.headless.trace import read_trace

from headless_tools import write_moons

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONIOENCODING="utf-8")


def cli(*args):
    return main([str(a) for a in args])


def sh(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "simtreino", *map(str, args)],
                          capture_output=True, text=True, env=ENV, timeout=timeout)


def stdout_lines(capsys):
    return capsys.readouterr().out.splitlines()


# --------------------------------------------------------------------- run
def test_run_xor_meets_its_expect(capsys):
    assert cli("run", "xor", "--quiet") == 0
    (line,) = stdout_lines(capsys)
    assert line.startswith("XOR: finished 500 epochs, 500 steps")
    assert "expect: ok (2 checks)" in line


def test_no_argument_opens_the_terminal_ui_on_xor(monkeypatch):
    import simtreino.tui.launch as launch
    opened = []
    monkeypatch.setattr(launch, "open_app", lambda name, seed=None: opened.append(name) or 0)
    assert main([]) == 0
    assert main(["--lang", "pt"]) == 0
    assert opened == ["xor", "xor"]


def test_impossible_expect_exits_1_naming_the_check(tmp_path, capsys):
    f = write_moons(tmp_path, expect="[expect]\nloss_below = 0.000001\naccuracy_at_least = 0.1\n")
    assert cli("run", f, "--quiet") == 1
    (line,) = stdout_lines(capsys)
    assert "expect: FAILED: loss_below: expected loss < 1e-06, found 0." in line
    assert "accuracy_at_least" not in line          # that one held
    assert "val_loss" in line and "test_accuracy" in line


def test_overrides_and_params_files(tmp_path, capsys):
    f = write_moons(tmp_path)
    out = tmp_path / "p.npz"
    assert cli("run", f, "--epochs", 2, "--seed", 7, "--save-params", out, "-q") == 0
    assert "finished 2 epochs, 12 steps" in stdout_lines(capsys)[0]
    assert out.exists()
    trace = tmp_path / "t.jsonl"
    assert cli("run", f, "--epochs", 1, "--init-params", out, "--record", trace, "-q") == 0
    h = read_trace(trace).header
    assert h["init_params"] is not None and h["scenario"]["training"]["epochs"] == 1
    assert cli("replay", trace) == 0


def test_divergence_is_explained(tmp_path, capsys):
    f = write_moons(tmp_path, lr=1e9, epochs=20)
    assert cli("run", f, "-q") == 1
    (line,) = stdout_lines(capsys)
    assert "DIVERGED at step" in line and "learning rate in force, 1e+09" in line
    assert "expect: FAILED: the run diverged" in line
    g = write_moons(tmp_path, "expected", lr=1e9, epochs=20, expect="[expect]\ndiverges = true\n")
    assert cli("run", g, "-q") == 0
    assert "expect: ok (divergence expected)" in stdout_lines(capsys)[0]


# ------------------------------------------------------------------ replay
def test_record_replay_and_a_tampered_trace(tmp_path, capsys):
    f = write_moons(tmp_path)
    trace = tmp_path / "t.jsonl"
    assert cli("run", f, "--record", trace, "--record-every", 5, "-q") == 0
    capsys.readouterr()
    assert cli("replay", trace) == 0
    lines = stdout_lines(capsys)
    assert lines[0].startswith(f"PASS  {trace}") and lines[-1] == "1 passed, 0 failed"
    records = trace.read_text().splitlines()
    rec = json.loads(records[3])            # the record at step 15
    rec["accuracy"] = 0.123
    records[3] = json.dumps(rec)
    trace.write_text("\n".join(records) + "\n")
    assert cli("replay", trace) == 1
    lines = stdout_lines(capsys)
    assert lines[0].startswith(f"FAIL  {trace}  step 15: accuracy recorded 0.123, replay ")
    assert lines[-1] == "0 passed, 1 failed"


def test_replay_folder_with_junit_report(tmp_path, capsys):
    course = tmp_path / "course"
    course.mkdir()
    write_moons(course, "good", expect="[expect]\nloss_below = 10.0\n")
    write_moons(course, "bad", expect="[expect]\nloss_below = 0.000001\n")
    assert cli("run", course / "good.toml", "--record", course / "good.jsonl", "-q") == 0
    capsys.readouterr()
    report = tmp_path / "report.xml"
    assert cli("replay", course, "xor", "--junit", report) == 1
    lines = stdout_lines(capsys)
    assert [l.split()[0] for l in lines[:-1]] == ["FAIL", "PASS", "PASS", "PASS"]
    assert lines[-1] == "3 passed, 1 failed"
    root = ET.parse(report).getroot()
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [str(course / "bad.toml"), str(course / "good.jsonl"),
                                              str(course / "good.toml"), "xor"]
    failure = cases[0].find("failure")
    assert "loss_below" in failure.get("message")
    assert all(c.find("failure") is None for c in cases[1:])


def test_replay_unusable_input_exits_2_before_running(tmp_path, capsys):
    f = write_moons(tmp_path)
    trace = tmp_path / "t.jsonl"
    cli("run", f, "--record", trace, "-q")
    lines = trace.read_text().splitlines()
    trace.write_text("\n".join(lines[:2] + ["garbage"] + lines[2:]) + "\n")
    capsys.readouterr()
    assert cli("replay", f, trace) == 2
    out, err = capsys.readouterr()
    assert out == ""                        # nothing ran
    assert err == f"simtreino: error: {trace}: line 3: not valid JSON\n"
    assert cli("replay", tmp_path / "absent.jsonl") == 2


def test_replay_tolerates_a_truncated_last_line(tmp_path, capsys):
    f = write_moons(tmp_path)
    trace = tmp_path / "t.jsonl"
    cli("run", f, "--record", trace, "-q")
    text = trace.read_text()
    trace.write_text(text[: len(text) - 20])        # cut the end record short
    capsys.readouterr()
    assert cli("replay", trace) == 0
    line = stdout_lines(capsys)[0]
    assert line.startswith("PASS") and "last line is incomplete" in line


# ------------------------------------------------------------ check, list
def test_list_shows_bundled_scenarios(capsys):
    assert cli("list") == 0
    lines = stdout_lines(capsys)
    xor = [l for l in lines if l.split()[0] == "xor"]
    assert xor and "perceptron" in xor[0]


def test_check_ok_and_invalid(tmp_path, capsys):
    good = write_moons(tmp_path)
    assert cli("check", good, "xor") == 0
    assert stdout_lines(capsys) == [f"ok: {good} (moons)", "ok: xor (XOR)"]
    bad = tmp_path / "csv.toml"
    bad.write_text(good.read_text().replace('source = "moons"', 'source = "csv"\npath = "x.csv"\n'
                                            'target = "y"\ntask = "classification"')
                   .replace("n_samples = 120\nnoise = 0.1\n", ""))
    assert cli("check", good, bad, "xor") == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"ok: {good} (moons)"]
    assert err.count("\n") == 1 and str(bad) in err and "data.path" in err


@pytest.mark.parametrize("args, words", [
    (["run", "nope-such-scenario"], ["nope-such-scenario", "bundled"]),
    (["run", "xor", "--epochs", "many"], ["--epochs", "positive integer", "'many'"]),
    (["run", "xor", "--seed", "-3"], ["--seed", ">= 0", "'-3'"]),
    (["run", "xor", "--record", "/no/such/folder/t.jsonl"], ["/no/such/folder", "does not exist"]),
    (["run", "xor", "--init-params", "/no/such.npz"], ["/no/such.npz", "cannot read"]),
    (["replay", "xor", "--rtol", "-1"], ["--rtol", ">= 0"]),
    (["frobnicate"], ["invalid choice"]),
])
def test_bad_input_is_one_line_and_exit_2(args, words, capsys):
    try:
        code = main(args)
    except SystemExit as e:          # argparse's own checks exit from inside
        code = e.code
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("simtreino: error: ") and err.count("\n") == 1
    for w in words:
        assert w in err


# ---------------------------------------------------------- subprocesses
def test_bad_scenario_file_in_a_real_process(tmp_path):
    f = write_moons(tmp_path)
    f.write_text(f.read_text().replace("lr = 0.1", 'lr = "fast"'))
    p = sh("run", f)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith(f"simtreino: error: {f}: optimizer.lr: ")
    bad_toml = tmp_path / "broken.toml"
    bad_toml.write_text("name = \n")
    p = sh("check", bad_toml)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_ctrl_c_keeps_a_readable_trace(tmp_path):
    f = write_moons(tmp_path, epochs=10_000_000)
    trace, params = tmp_path / "t.jsonl", tmp_path / "p.npz"
    proc = subprocess.Popen([sys.executable, "-m", "simtreino", "run", f, "--record", trace,
                             "--record-every", "60", "--save-params", params],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + 60     # a timeout for a hung test, not a speed check
        while time.monotonic() < deadline:
            if trace.exists() and trace.read_text().count('"type": "record"') >= 2:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted at step" in out and str(trace) in out
    t = read_trace(trace)
    assert not t.truncated
    assert t.end["status"] == "interrupted"
    assert t.records[-1]["step"] == t.end["step"]
    assert params.exists()
    assert main(["replay", str(trace)]) == 0


def test_help_and_version():
    p = sh("--help")
    assert p.returncode == 0 and "replay" in p.stdout and "run" in p.stdout
    p = sh("run", "--help")
    assert p.returncode == 0 and "--record-every" in p.stdout
    p = sh("--version")
    assert p.returncode == 0 and p.stdout.startswith("simtreino ")


def test_headless_modules_never_import_the_ui():
    code = ("import sys, simtreino.cli, simtreino.api\n"
            "import simtreino.headless.runner, simtreino.headless.replay, simtreino.headless.junit\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'plotext'))\n"
            "print(','.join(bad))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ""


def test_cli_module_is_light():
    # `simtreino --help` must not wait for Numba
    code = "import sys, simtreino.cli; simtreino.cli.build_parser(); print('numba' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert p.stdout.strip() == "False", p.stderr


# ------------------------------------------------------- bundled scenarios
def test_every_bundled_scenario_replays(capsys):
    from simtreino.scenario import bundled_dir, list_bundled
    n = len(list_bundled())
    assert n >= 1
    assert cli("replay", bundled_dir()) == 0
    assert stdout_lines(capsys)[-1] == f"{n} passed, 0 failed"


def test_bundled_scenarios_record_and_replay_exactly(tmp_path, capsys):
    from simtreino.scenario import list_bundled
    for name, _ in list_bundled():
        assert cli("run", name, "--record", tmp_path / f"{name}.jsonl", "-q") in (0, 1)
    capsys.readouterr()
    assert cli("replay", tmp_path, "--rtol", 0, "--atol", 0) == 0
