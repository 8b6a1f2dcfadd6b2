"""Every bundled scenario is complete (both descriptions, an [expect]) and
meets its own [expect] when run to the end, as `simtreino run NAME` would."""

import pytest

import simtreino.api as api
from simtreino.cli import main
from simtreino.scenario import list_bundled, load_scenario

BUNDLED = list_bundled()
IDS = [name for name, _ in BUNDLED]

# [expect] keys that are measured (the `diverges` flag alone says nothing
# about what a run learned).
MEASURED = ("loss_below", "accuracy_at_least", "val_loss_below", "val_accuracy_at_least",
            "test_loss_below", "test_accuracy_at_least")


def test_there_are_bundled_scenarios():
    names = set(IDS)
    assert "xor" in names
    assert len(names) >= 20, sorted(names)


@pytest.mark.parametrize("name,path", BUNDLED, ids=IDS)
def test_bundled_scenario_is_complete(name, path):
    s = load_scenario(path)
    assert s.name.strip(), f"{name}: no name"
    assert s.description.strip(), f"{name}: no description"
    assert s.description_pt.strip(), f"{name}: no description_pt"
    # (xor.toml is the text, and XOR is XOR in Portuguese too)
    assert s.name_pt.strip() or name == "xor", f"{name}: no name_pt"
    if s.kind == "race":
        # every racer says where it should end (or that it diverges)
        for r in s.racers:
            assert not r.expect.is_empty(), f"{name}: racer {r.label} has no expect"
        return
    assert not s.expect.is_empty(), f"{name}: no [expect] table"
    assert any(getattr(s.expect, k) is not None for k in MEASURED), \
        f"{name}: [expect] checks nothing the run learned"


@pytest.mark.parametrize("name,path", BUNDLED, ids=IDS)
def test_bundled_scenario_meets_its_expect(name, path):
    s = load_scenario(path)
    if getattr(s, "runs", ()):
        for (label, variant), r in zip(s.variants(), api.run(s)):
            failures = "; ".join(c.message for c in r.failures)
            assert r.status == "finished", label
            # every epoch, unless early stopping ended the run
            assert r.snapshot.epoch == variant.training.epochs or r.stopped_early, label
            assert r.checks and r.passed, f"{name} [{label}]: [expect] failed: {failures}"
        return
    r = api.run(s)
    failures = "; ".join(c.message for c in r.failures)
    if s.kind == "race":
        assert r.status == "finished" and r.steps == s.steps, name
        assert len(r.checks) >= len(s.racers), name
        assert r.passed, f"{name}: expect failed: {failures}"
        return
    assert r.status == "finished", f"{name}: {r.status} at epoch {r.snapshot.epoch}: {failures}"
    assert r.snapshot.epoch == s.training.epochs or r.stopped_early, name
    assert r.checks, f"{name}: no [expect] checks were made"
    assert r.passed, f"{name}: [expect] failed: {failures}"


def test_list_shows_every_bundled_name(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr()
    listed = {line.split()[0] for line in out.out.splitlines() if line.strip()}
    assert set(IDS) <= listed, sorted(set(IDS) - listed)
    assert out.err == ""
