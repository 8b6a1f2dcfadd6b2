"""The training craft on the headless side: early stopping ends a run (it
is finished, not diverged) and its replay must end alike; penalties in
traces and in the summary; live settings of the craft as trace events; the
``stopped_early`` expectation; the live session's "stopped" state."""

import json
import math

import pytest

from simtreino.cli import main
from simtreino.headless.expect import check_expect
from simtreino.headless.replay import compare_trace, prepare_items, replay_item
from simtreino.headless.runner import Runner, run
from simtreino.headless.session import LiveSession
from simtreino.headless.trace import read_trace
from simtreino.i18n import t
from simtreino.core.trainer import EarlyStop
from simtreino.scenario import ExpectSpec, load_scenario

from headless_tools import write_moons

# moons: 72 training samples in batches of 12 (6 steps an epoch); with
# lr 0.1 the validation loss stops improving after epoch 6, so patience 3
# stops the run at the end of epoch 9 (step 54), weights of epoch 6 restored.
EARLY = "[training.early_stopping]\npatience = 3\n"
STOP_EPOCH, STOP_STEP, BEST_EPOCH = 9, 54, 6
PENALTY = "\n[regularization]\nl2 = 0.01\n"


def early(tmp_path, *, extra="", expect="", name="early", epochs=200):
    return load_scenario(write_moons(tmp_path, name=name, lr=0.1, epochs=epochs,
                                     extra_training=EARLY + extra, expect=expect))


def lines_of(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8").read().splitlines()]


def rewrite(path, lines) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(json.dumps(line) + "\n" for line in lines))


# ------------------------------------------------------------- early stopping
def test_early_stopping_ends_the_run_finished_and_its_trace_replays(tmp_path):
    path = tmp_path / "t.jsonl"
    r = run(early(tmp_path), record=path)
    assert r.status == "finished" and r.stopped_early and r.passed
    assert (r.snapshot.epoch, r.snapshot.step) == (STOP_EPOCH, STOP_STEP)
    es = r.early_stop
    assert (es.stopped_epoch, es.best_epoch, es.wait, es.restored) == (
        STOP_EPOCH, BEST_EPOCH, 3, True)
    # evaluated on the restored weights: the best epoch's validation loss
    assert r.metrics["val_loss"] == pytest.approx(es.best, rel=1e-12)
    lines = lines_of(path)
    assert lines[-1] == {"type": "end", "status": "finished", "step": STOP_STEP,
                         "epoch": STOP_EPOCH, "stopped_early": True}
    assert [line["epoch"] for line in lines if line["type"] == "record"] == list(range(1, 10))
    ok, msg, _ = compare_trace(read_trace(path))
    assert ok, msg
    assert msg == f"9 record(s) to step {STOP_STEP}, 0 event(s)"


def test_a_replay_that_does_not_stop_early_where_the_trace_did_fails(tmp_path):
    path = tmp_path / "t.jsonl"
    run(early(tmp_path), record=path)
    lines = lines_of(path)
    # the end line says the run stopped early: a replay that only reaches the step fails
    header = lines[0]
    header["scenario"]["training"]["early_stopping"]["patience"] = 50
    rewrite(path, lines)
    ok, msg, _ = compare_trace(read_trace(path))
    assert not ok
    assert msg == (f"end: recorded finished (stopped early) at step {STOP_STEP}, replay "
                   f"finished at step {STOP_STEP}")
    # a trace without the mark, replayed by a run that stops early
    lines = lines_of(path)
    lines[0]["scenario"]["training"]["early_stopping"]["patience"] = 3
    del lines[-1]["stopped_early"]
    rewrite(path, lines)
    ok, msg, _ = compare_trace(read_trace(path))
    assert not ok and msg == (f"end: recorded finished at step {STOP_STEP}, replay finished "
                              f"(stopped early) at step {STOP_STEP}")
    # a replay that stops sooner than the trace goes
    lines[-1]["stopped_early"] = True
    lines[0]["scenario"]["training"]["early_stopping"]["patience"] = 2
    rewrite(path, lines)
    ok, msg, _ = compare_trace(read_trace(path))
    assert not ok
    assert msg == ("step 24: early stopping ended the replay at epoch 4 but the trace goes on "
                   "to step 30")     # patience 2 ends it at epoch 4


def test_a_trace_end_with_a_bad_stopped_early_is_refused(tmp_path):
    path = tmp_path / "t.jsonl"
    run(early(tmp_path), record=path)
    lines = lines_of(path)
    lines[-1]["stopped_early"] = "yes"
    rewrite(path, lines)
    with pytest.raises(Exception) as info:
        read_trace(path)
    assert 'stopped_early is "yes", expected true or false' in str(info.value)


def test_a_scenario_item_with_early_stopping_replays(tmp_path):
    f = write_moons(tmp_path, lr=0.1, epochs=200, extra_training=EARLY,
                    expect="[expect]\nstopped_early = true\n")
    (item,) = prepare_items([str(f)])
    res = replay_item(item)
    assert res.ok, res.message
    assert res.message.endswith(f"stopped early at epoch {STOP_EPOCH}")


def test_a_runner_is_done_when_early_stopping_ends_it(tmp_path):
    runner = Runner(early(tmp_path))
    runner.advance_to(10_000)
    assert runner.done and runner.trainer.step == STOP_STEP
    assert runner.advance(100) == 0


# ------------------------------------------------------------------- penalty
def test_records_carry_the_penalty_when_one_is_on(tmp_path):
    s = load_scenario(write_moons(tmp_path, epochs=4, extra_training=PENALTY))
    path = tmp_path / "t.jsonl"
    r = run(s, record=path)
    assert r.metrics["penalty"] == r.snapshot.penalty > 0
    records = [line for line in lines_of(path) if line["type"] == "record"]
    history = r.trainer.epoch_history()["penalty"]
    assert [rec["penalty"] for rec in records] == list(history)
    assert compare_trace(read_trace(path))[0]
    lines = lines_of(path)
    lines[2]["penalty"] *= 1.001
    rewrite(path, lines)
    ok, msg, _ = compare_trace(read_trace(path))
    assert not ok and msg.startswith(f"step {lines[2]['step']}: penalty recorded")


def test_without_a_penalty_records_are_as_before(tmp_path):
    path = tmp_path / "t.jsonl"
    r = run(load_scenario(write_moons(tmp_path, epochs=3)), record=path)
    assert "penalty" not in r.metrics
    for line in lines_of(path)[1:-1]:
        assert set(line) == {"type", "step", "epoch", "loss", "accuracy", "val_loss",
                             "val_accuracy", "last_loss", "lr"}


def test_a_penalty_turned_on_live_is_recorded_from_then_on(tmp_path):
    s = load_scenario(write_moons(tmp_path, epochs=4))
    path = tmp_path / "t.jsonl"
    runner = Runner(s, record=path)
    runner.advance_to(12)
    runner.trainer.set_hyper("l2", 0.02)
    r = run(s, runner=runner)
    assert r.metrics["penalty"] > 0
    records = [line for line in lines_of(path) if line["type"] == "record"]
    assert ["penalty" in rec for rec in records] == [False, False, True, True]
    ok, msg, _ = compare_trace(read_trace(path))
    assert ok, msg


# -------------------------------------------------------------- live settings
LIVE = [("l1", 0.001), ("l2", 0.02), ("clip_grad_norm", 0.5), ("clip_grad_value", 0.2),
        ("dropout.0", 0.3), ("early_stopping.patience", 5), ("early_stopping.min_delta", 0.01)]


def test_live_settings_of_the_craft_are_events_that_replay(tmp_path):
    s = early(tmp_path, epochs=12)
    path = tmp_path / "t.jsonl"
    runner = Runner(s, record=path, record_every=6)
    runner.advance_to(12)
    for key, value in LIVE:
        runner.trainer.set_hyper(key, value)
    run(s, runner=runner)
    lines = lines_of(path)
    events = [line for line in lines if line["type"] == "event"]
    assert events == [{"type": "event", "step": 12, "key": k, "value": v} for k, v in LIVE]
    ok, msg, _ = compare_trace(read_trace(path))
    assert ok, msg
    assert f"{len(LIVE)} event(s)" in msg
    # each event matters: without one, the replay goes its own way
    for drop in ("l2", "dropout.0"):
        rewrite(path, [line for line in lines if line.get("key") != drop])
        ok, msg, _ = compare_trace(read_trace(path))
        assert not ok and msg.startswith("step 18:"), (drop, msg)


# ----------------------------------------------------------- [expect] check
def test_stopped_early_expectation_passes_and_fails(tmp_path):
    ok = run(early(tmp_path, expect="[expect]\nstopped_early = true\n"))
    assert ok.passed and [c.message for c in ok.checks] == [
        f"stopped_early: ok (stopped at epoch {STOP_EPOCH})"]
    bad = run(early(tmp_path, expect="[expect]\nstopped_early = false\n", name="b"))
    assert not bad.passed and bad.exit_code == 1
    assert [c.message for c in bad.failures] == [
        f"stopped_early = false: early stopping ended the run at epoch {STOP_EPOCH} "
        f"(best epoch {BEST_EPOCH})"]
    # monitoring the training loss, it keeps improving: no early stop in 20 epochs
    never = run(early(tmp_path, extra='monitor = "loss"\n', epochs=20, name="c",
                      expect="[expect]\nstopped_early = true\n"))
    assert never.snapshot.epoch == 20 and not never.stopped_early
    (failure,) = never.failures
    assert failure.message.startswith("stopped_early = true: early stopping did not end the "
                                      "run (")
    assert failure.message.endswith("without improvement of loss at the end, patience 3)")
    passes = run(early(tmp_path, extra='monitor = "loss"\n', epochs=20, name="d",
                       expect="[expect]\nstopped_early = false\n"))
    assert passes.passed and passes.checks[0].message == "stopped_early: ok (trained every epoch)"


def test_check_expect_stopped_early():
    m = {"loss": 0.1, "accuracy": 1.0}
    stopped = EarlyStop("val_loss", 3, 3, 0.2, 5, 8, True)
    going = EarlyStop("val_loss", 3, 1, 0.2, 5, 0, False)
    want, dont = ExpectSpec(stopped_early=True), ExpectSpec(stopped_early=False)
    assert check_expect(ExpectSpec(), m, False, early_stop=stopped) == []
    assert [c.ok for c in check_expect(want, m, False, early_stop=stopped)] == [True]
    assert [c.ok for c in check_expect(dont, m, False, early_stop=going)] == [True]
    assert [c.ok for c in check_expect(dont, m, False, early_stop=None)] == [True]
    (c,) = check_expect(want, m, False, early_stop=going)
    assert not c.ok and c.message == ("stopped_early = true: early stopping did not end the "
                                      "run (1 epoch(s) without improvement of val_loss at the "
                                      "end, patience 3)")
    (c,) = check_expect(want, m, False, early_stop=None)
    assert c.message == "stopped_early = true: early stopping is off in this run"
    res = check_expect(want, m, True, early_stop=going)
    assert [r.name for r in res] == ["diverges", "stopped_early"]
    assert res[1].message == ("stopped_early = true: the run diverged before early stopping "
                              "ended it")
    (c,) = check_expect(dont, m, False, early_stop=stopped)
    assert c.message == "stopped_early = false: early stopping ended the run at epoch 8 " \
                        "(best epoch 5)"


# ---------------------------------------------------------------------- cli
def test_run_prints_the_penalty_and_the_early_stop(tmp_path, capsys):
    f = write_moons(tmp_path, lr=0.1, epochs=200, extra_training=EARLY + PENALTY)
    s = load_scenario(f)
    r = run(s)
    es = r.early_stop
    assert main(["run", str(f), "--quiet"]) == 0
    summary, stop = capsys.readouterr().out.splitlines()[:2]
    assert summary.startswith(f"moons: finished {es.stopped_epoch} epochs")
    assert f"; loss {r.metrics['loss']:.6g} (penalty {r.metrics['penalty']:.6g}), accuracy" \
        in summary
    assert stop == (f"early stopping: no improvement of val_loss for 3 epochs; stopped at "
                    f"epoch {es.stopped_epoch}, weights of epoch {es.best_epoch} restored "
                    f"(val_loss {es.best:.6g})")


def test_run_says_when_the_last_weights_are_kept(tmp_path, capsys):
    f = write_moons(tmp_path, lr=0.1, epochs=200, extra_training=EARLY + "restore_best = false\n")
    assert main(["run", str(f), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "(penalty" not in out[0]
    assert out[1].startswith(f"early stopping: no improvement of val_loss for 3 epochs; "
                             f"stopped at epoch {STOP_EPOCH}, weights of the last epoch kept "
                             f"(best: val_loss ")
    assert out[1].endswith(f" at epoch {BEST_EPOCH})")


def test_run_without_early_stopping_prints_one_line(tmp_path, capsys):
    f = write_moons(tmp_path, epochs=3)
    assert main(["run", str(f), "--quiet"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_explain_past_an_early_stop_says_so(tmp_path):
    from simtreino.headless.explain import trainer_before
    with pytest.raises(ValueError) as info:
        trainer_before(early(tmp_path), step=100)
    assert str(info.value) == (f"early stopping ended training at step {STOP_STEP} (epoch "
                               f"{STOP_EPOCH}), before step 100")


def test_surface_export_ends_at_an_early_stop(tmp_path):
    from simtreino.headless.surface_export import export_surface
    out = export_surface(early(tmp_path), tmp_path / "s.npz", grid=5, samples=40)
    assert str(tmp_path / "s.npz") in out.files


# ------------------------------------------------------------- live session
def test_the_live_session_stops_early_and_says_so(tmp_path):
    ses = LiveSession(early(tmp_path, extra=PENALTY.replace("\n[", "[")), speed=None)
    try:
        ses.train_now(200, surface=False)
        v = ses.view
        assert v.state == "stopped" and v.snapshot.stopped_early
        assert v.snapshot.epoch < 200
        assert v.message == "stopped_early"
        es = v.snapshot.early_stop
        assert v.message_args == {"monitor": "val_loss", "wait": 3, "epoch": es.stopped_epoch,
                                  "best_epoch": es.best_epoch, "best": f"{es.best:.4g}"}
        assert t("msg.stopped_early", **v.message_args).startswith(
            "Early stopping: no improvement of val_loss for 3 epochs; stopped at epoch ")
        assert t("state.stopped") == "stopped early"
        assert v.craft["l2"] == 0.01 and v.craft["dropout"] == (0.0, 0.0)
        assert v.craft["early_stopping"]["patience"] == 3
        ses.start()
        ses.play()                      # it cannot go on
        ses.wait_idle()
        assert ses.view.state == "stopped" and not ses.playing
        ses.reset()
        ses.wait_idle()
        assert ses.view.state == "paused" and ses.view.snapshot.step == 0
    finally:
        ses.close()


def test_the_live_session_refuses_one_sample_batches_with_batchnorm(tmp_path):
    f = write_moons(tmp_path)
    f.write_text(f.read_text().replace('{ units = 8, activation = "tanh" }',
                                       '{ units = 8, activation = "tanh", batchnorm = true }'))
    ses = LiveSession(load_scenario(f), speed=None).start()
    try:
        for value, words in ((1, "got 1"), (71, "leave a last batch of 1 sample")):
            ses.set_hyper({"batch_size": value})
            ses.wait_idle()
            assert ses.view.message == "setting_refused"
            assert ses.view.message_args["key"] == "batch_size"
            assert words in ses.view.message_args["why"]
            assert ses.trainer.batch_size == 12 and not ses.trainer.events
        ses.set_hyper({"batch_size": 8})
        ses.wait_idle()
        assert ses.view.message == "settings_applied" and ses.trainer.batch_size == 8
    finally:
        ses.close()


def test_no_nan_in_a_stopped_runs_metrics(tmp_path):
    r = run(early(tmp_path))
    assert all(v is None or math.isfinite(v) for v in r.metrics.values())
