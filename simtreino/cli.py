"""The ``simtreino`` command.

Subcommands: ``open`` (the terminal UI), ``screenshot``, ``run``,
``replay``, ``check``, ``list``, ``explain``, ``gradcheck``, ``surface``,
``data``; with no subcommand, ``default_action()``
opens the terminal UI on the bundled ``xor`` scenario. Bad input is ONE
line on stderr, ``simtreino: error: ...``, and exit code 2 -- never a
traceback.

Imports here stay light (no numpy/numba at module level) so ``--help`` is
instant; the terminal UI (textual) is imported only by ``open`` and
``screenshot``.
"""

import argparse
import math
import sys
from pathlib import Path

import simtreino

PROG = "simtreino"
DEFAULT_SCENARIO = "xor"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Every text shown to a person, in one place (a message catalogue with
# Portuguese comes later).
MSG = {
    "description": "Watch neural networks train, step by step.",
    "open_help": "open the terminal UI on a scenario (default: xor)",
    "shot_help": "train headlessly, then save an SVG screenshot of the terminal UI",
    "lang": "language of the interface: en or pt (default: from $LANG)",
    "shot_out": "the SVG file to write",
    "shot_size": "terminal size, COLSxROWS (default %(default)s)",
    "shot_screen": "what to show: dashboard, help, hyper, picker, inspect or surface",
    "shot_page": "with --screen inspect: the page (phase) to show, from 0",
    "shot_keys": "keys to press before the screenshot, separated by spaces (e.g. \"d d\")",
    "size_value": "expected COLSxROWS such as 120x36, got {value!r}",
    "run_help": "train a scenario headlessly and check its [expect] table",
    "replay_help": "re-run traces and scenarios and compare (for CI)",
    "check_help": "validate scenario files (and load their data)",
    "list_help": "list the bundled scenarios",
    "data_help": "download datasets into a per-user cache (checksums verified)",
    "fetch_help": "download a dataset's original files and verify their SHA-256",
    "dataset": "the dataset to download",
    "fetch_dir": "download into folder D (default: ~/.cache/simtreino/mnist)",
    "scenario_arg": "a scenario file or the name of a bundled scenario",
    "epochs": "train this many epochs instead of the scenario's",
    "seed": "use this seed instead of the scenario's (data and weights)",
    "record": "write a trace (JSON Lines) of the run to this file",
    "record_every": "record every K steps (default: the scenario's record_every, else each epoch)",
    "save_params": "save the final parameters to this .npz file",
    "init_params": "start from the parameters in this .npz file",
    "quiet": "no progress line and no compile notice (the summary line stays)",
    "items": "trace files (.jsonl), scenario files or bundled names, or folders of them",
    "rtol": "relative tolerance (default %(default)g)",
    "atol": "absolute tolerance (default %(default)g)",
    "junit": "also write a JUnit XML report to this file",
    "files": "scenario files or bundled names",
    "error": "{prog}: error: {msg}",
    "positive_int": "expected a positive integer, got {value!r}",
    "seed_value": "expected an integer >= 0, got {value!r}",
    "tolerance": "expected a number >= 0, got {value!r}",
    "no_folder": "{path}: folder {folder} does not exist",
    "is_folder": "{path}: is a folder, expected a file name",
    "os_error": "{file}: {reason}",
    "cannot_write": "{path}: cannot write ({reason})",
    "summary": "{name}: finished {epochs} epochs, {steps} steps in {secs} ({rate} steps/s); {metrics}; {verdict}",
    "summary_div": ("{name}: DIVERGED at step {step} (epoch {epoch}) after {secs}: {why}; "
                    "likely cause: the learning rate in force, {lr:g}, is too large "
                    "(try a smaller one); {verdict}"),
    "summary_int": "{name}: interrupted at step {step} (epoch {epoch}) after {secs}{extra}",
    "penalty": " (penalty {penalty})",
    "early_stop": ("early stopping: no improvement of {monitor} for {wait} epochs; stopped at "
                   "epoch {epoch}, weights of epoch {best_epoch} restored ({monitor} {best})"),
    "early_stop_kept": ("early stopping: no improvement of {monitor} for {wait} epochs; "
                        "stopped at epoch {epoch}, weights of the last epoch kept (best: "
                        "{monitor} {best} at epoch {best_epoch})"),
    "early_stop_none": ("early stopping: no improvement of {monitor} for {wait} epochs; "
                        "stopped at epoch {epoch}, weights of the last epoch kept (no epoch "
                        "had a finite {monitor})"),
    "why_nan": "the loss became NaN or infinite",
    "why_exploded": "the loss exploded (grew over a million times its first value)",
    "verdict_none": "expect: nothing to check",
    "verdict_ok": "expect: ok ({n} checks)",
    "verdict_ok_div": "expect: ok (divergence expected)",
    "verdict_fail": "expect: FAILED: {checks}",
    "trace_kept": "; trace kept in {path}",
    "params_saved": "; parameters saved to {path}",
    "interrupted": "{prog}: interrupted",
    "ok": "ok: {file} ({name})",
    "item": "{verdict}  {name}  {message}{notes}  ({secs:.2f} s)",
    "totals": "{passed} passed, {failed} failed",
    "list_empty": "no bundled scenarios found",
    "explain_help": "print every number of one training step, phase by phase, with its formula",
    "gradcheck_help": "compare backprop gradients with finite differences",
    "step": "the step to show, counting from 1 (default 1): steps before it run first",
    "gc_step": "check the gradient of this step, counting from 1 (default 1)",
    "sample": "walk through batch row I only (0-based; gradients stay of the whole batch)",
    "format": "output format (default text)",
    "eps": "finite-difference step (default 1e-6; the differences are computed in float64)",
    "max_params": "check a seeded random sample of N parameters (default: all of them up to "
                  "2,000; a sample of 2,000 in larger networks)",
    "all_rows": "print every checked parameter, not only the worst ones",
    "sample_value": "expected an integer >= 0, got {value!r}",
    "steps": "race scenarios: run this many steps instead of the scenario's",
    "surface_help": "train a scenario, then write its loss surface, axes and path (.npz or .csv)",
    "surface_out": "the file to write: NAME.npz, or NAME.csv (plus NAME.path.csv, NAME.line.csv)",
    "surface_directions": "the slice's directions: pca (of the training path) or random (filter-normalised); default %(default)s",
    "surface_grid": "points per axis (default %(default)s)",
    "surface_extent": "half-width of the slice in units of the directions (default: 1 for random, the path plus 25%% for pca)",
    "surface_samples": "training samples the loss is measured on (default %(default)s)",
    "race_option": "{option} does not apply to a race scenario ({name}: optimizers on a 2-D function, no network)",
    "steps_network": "--steps applies to race scenarios; a network scenario trains for --epochs",
    "eps_value": "expected a number > 0, got {value!r}",
}


class UsageError(Exception):
    """Bad input found by the command itself: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit 2."""

    def error(self, message):
        hint = f" (see '{self.prog} --help')"
        sys.stderr.write(MSG["error"].format(prog=PROG, msg=message + hint) + "\n")
        raise SystemExit(EXIT_USAGE)


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(MSG["positive_int"].format(value=text)) from None
    if v < 1:
        raise argparse.ArgumentTypeError(MSG["positive_int"].format(value=text))
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(MSG["seed_value"].format(value=text))
    return v


def _eps(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(MSG["eps_value"].format(value=text))
    return v


def _tolerance(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(MSG["tolerance"].format(value=text))
    return v


def _size(text) -> tuple:
    if isinstance(text, tuple):
        return text
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        w = h = 0
    if w < 20 or h < 10:
        raise argparse.ArgumentTypeError(MSG["size_value"].format(value=text))
    return (w, h)


def build_parser() -> argparse.ArgumentParser:
    from simtreino.headless.compare import DEFAULT_ATOL, DEFAULT_RTOL   # light: no Numba

    p = _Parser(prog=PROG, description=MSG["description"])
    p.add_argument("--version", action="version", version=f"{PROG} {simtreino.__version__}")
    p.add_argument("--lang", choices=("en", "pt"), help=MSG["lang"])
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    o = sub.add_parser("open", help=MSG["open_help"], description=MSG["open_help"])
    o.add_argument("scenario", metavar="SCENARIO", nargs="?", default=DEFAULT_SCENARIO,
                   help=MSG["scenario_arg"])
    o.add_argument("--seed", type=_seed, metavar="S", help=MSG["seed"])
    o.add_argument("--lang", choices=("en", "pt"), default=argparse.SUPPRESS, help=MSG["lang"])
    o.set_defaults(func=cmd_open)

    sh = sub.add_parser("screenshot", help=MSG["shot_help"], description=MSG["shot_help"])
    sh.add_argument("scenario", metavar="SCENARIO", help=MSG["scenario_arg"])
    sh.add_argument("--epochs", type=int, default=0, metavar="N", help=MSG["epochs"])
    sh.add_argument("--out", required=True, metavar="FILE.svg", help=MSG["shot_out"])
    sh.add_argument("--size", type=_size, default="120x36", metavar="COLSxROWS",
                    help=MSG["shot_size"])
    sh.add_argument("--screen", choices=("dashboard", "help", "hyper", "picker", "inspect",
                                         "surface"),
                    default="dashboard", help=MSG["shot_screen"])
    sh.add_argument("--page", type=int, default=0, metavar="K", help=MSG["shot_page"])
    sh.add_argument("--keys", default="", metavar="KEYS", help=MSG["shot_keys"])
    sh.add_argument("--seed", type=_seed, metavar="S", help=MSG["seed"])
    sh.add_argument("--lang", choices=("en", "pt"), default=argparse.SUPPRESS, help=MSG["lang"])
    sh.set_defaults(func=cmd_screenshot)

    r = sub.add_parser("run", help=MSG["run_help"], description=MSG["run_help"])
    r.add_argument("scenario", metavar="SCENARIO", help=MSG["scenario_arg"])
    r.add_argument("--epochs", type=_positive_int, metavar="N", help=MSG["epochs"])
    r.add_argument("--seed", type=_seed, metavar="S", help=MSG["seed"])
    r.add_argument("--record", metavar="TRACE", help=MSG["record"])
    r.add_argument("--record-every", type=_positive_int, metavar="K", help=MSG["record_every"])
    r.add_argument("--save-params", metavar="OUT.npz", help=MSG["save_params"])
    r.add_argument("--init-params", metavar="IN.npz", help=MSG["init_params"])
    r.add_argument("--steps", type=_positive_int, metavar="N", help=MSG["steps"])
    r.add_argument("--quiet", "-q", action="store_true", help=MSG["quiet"])
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser("replay", help=MSG["replay_help"], description=MSG["replay_help"])
    rp.add_argument("items", nargs="+", metavar="ITEM", help=MSG["items"])
    rp.add_argument("--rtol", type=_tolerance, default=DEFAULT_RTOL, metavar="R", help=MSG["rtol"])
    rp.add_argument("--atol", type=_tolerance, default=DEFAULT_ATOL, metavar="A", help=MSG["atol"])
    rp.add_argument("--junit", metavar="FILE", help=MSG["junit"])
    rp.set_defaults(func=cmd_replay)

    c = sub.add_parser("check", help=MSG["check_help"], description=MSG["check_help"])
    c.add_argument("files", nargs="+", metavar="FILE", help=MSG["files"])
    c.set_defaults(func=cmd_check)

    ex = sub.add_parser("explain", help=MSG["explain_help"], description=MSG["explain_help"])
    ex.add_argument("scenario", metavar="SCENARIO", help=MSG["scenario_arg"])
    ex.add_argument("--step", type=_positive_int, default=1, metavar="K", help=MSG["step"])
    ex.add_argument("--sample", type=_seed, metavar="I", help=MSG["sample"])
    ex.add_argument("--init-params", metavar="IN.npz", help=MSG["init_params"])
    ex.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                    help=MSG["format"])
    ex.add_argument("--lang", choices=("en", "pt"), default=argparse.SUPPRESS, help=MSG["lang"])
    ex.set_defaults(func=cmd_explain)

    gc = sub.add_parser("gradcheck", help=MSG["gradcheck_help"],
                        description=MSG["gradcheck_help"])
    gc.add_argument("scenario", metavar="SCENARIO", help=MSG["scenario_arg"])
    gc.add_argument("--step", type=_positive_int, default=1, metavar="K", help=MSG["gc_step"])
    gc.add_argument("--init-params", metavar="IN.npz", help=MSG["init_params"])
    gc.add_argument("--eps", type=_eps, metavar="E", help=MSG["eps"])
    gc.add_argument("--max-params", type=_positive_int, metavar="N", help=MSG["max_params"])
    gc.add_argument("--all", action="store_true", help=MSG["all_rows"])
    gc.add_argument("--lang", choices=("en", "pt"), default=argparse.SUPPRESS, help=MSG["lang"])
    gc.set_defaults(func=cmd_gradcheck)

    sf = sub.add_parser("surface", help=MSG["surface_help"], description=MSG["surface_help"])
    sf.add_argument("scenario", metavar="SCENARIO", help=MSG["scenario_arg"])
    sf.add_argument("--out", required=True, metavar="FILE", help=MSG["surface_out"])
    sf.add_argument("--epochs", type=_positive_int, metavar="N", help=MSG["epochs"])
    sf.add_argument("--steps", type=_positive_int, metavar="N", help=MSG["steps"])
    sf.add_argument("--seed", type=_seed, metavar="S", help=MSG["seed"])
    sf.add_argument("--directions", choices=("pca", "random"), default="pca",
                    help=MSG["surface_directions"])
    sf.add_argument("--grid", type=_positive_int, default=41, metavar="N",
                    help=MSG["surface_grid"])
    sf.add_argument("--extent", type=_eps, metavar="E", help=MSG["surface_extent"])
    sf.add_argument("--samples", type=_positive_int, default=1000, metavar="N",
                    help=MSG["surface_samples"])
    sf.set_defaults(func=cmd_surface)

    ls = sub.add_parser("list", help=MSG["list_help"], description=MSG["list_help"])
    ls.set_defaults(func=cmd_list)

    dt = sub.add_parser("data", help=MSG["data_help"], description=MSG["data_help"])
    dt_sub = dt.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    df = dt_sub.add_parser("fetch", help=MSG["fetch_help"], description=MSG["fetch_help"])
    df.add_argument("dataset", choices=("mnist",), help=MSG["dataset"])
    df.add_argument("--dir", metavar="D", help=MSG["fetch_dir"])
    df.set_defaults(func=cmd_data)
    return p


# ------------------------------------------------------------------- run
def _check_writable(path) -> None:
    """Fail before training, not after, when an output cannot be written."""
    if path is None:
        return
    folder = Path(path).parent
    if not folder.is_dir():
        raise UsageError(MSG["no_folder"].format(path=path, folder=folder))
    if Path(path).is_dir():
        raise UsageError(MSG["is_folder"].format(path=path))


def cmd_run(args) -> int:
    from simtreino.headless.runner import Runner, run
    from simtreino.scenario import find_scenario, load_scenario

    scenario = load_scenario(find_scenario(args.scenario))
    _check_writable(args.record)
    if scenario.kind == "race":
        return _run_race(args, scenario)
    if args.steps is not None:
        raise UsageError(MSG["steps_network"])
    _check_writable(args.save_params)
    # A scenario with [[runs]] trains each run in turn, from the same initial
    # weights and the same data (built once, and checked against every run's
    # batch size); outputs get the run's label in their names.
    dataset = None
    if scenario.runs:
        from dataclasses import replace
        from simtreino.scenario.build import build_dataset
        dataset = build_dataset(scenario if args.seed is None else
                                replace(scenario, seed=args.seed))
    code = EXIT_OK
    for label, variant in scenario.variants():
        record = _per_run(args.record, label)
        try:
            runner = Runner(variant, epochs=args.epochs, seed=args.seed,
                            init_params=args.init_params, record=record,
                            record_every=args.record_every, dataset=dataset)
        except OSError as e:   # only the trace file is opened here
            raise UsageError(MSG["cannot_write"].format(path=record,
                                                        reason=e.strerror or e)) from None
        err = sys.stderr
        result = run(variant, runner=runner, save_params_to=_per_run(args.save_params, label),
                     progress_stream=err if (not args.quiet and err.isatty()) else None,
                     notice_stream=None if args.quiet else err, handle_sigint=True)
        print(summary_line(result, args), flush=True)
        stop = early_stop_line(result)
        if stop:
            print(stop, flush=True)
        for line in finding_lines(result):
            print(line, flush=True)
        code = max(code, result.exit_code)
        if result.status == "interrupted":
            break
    return code


def _per_run(path, label: str):
    """``out.jsonl`` -> ``out-sgd.jsonl`` for the run labelled "SGD"."""
    if path is None or not label:
        return path
    p = Path(path)
    slug = "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-") or "run"
    return str(p.with_name(f"{p.stem}-{slug}{p.suffix}"))


def _run_race(args, scenario) -> int:
    from simtreino.headless.race_run import run_race, summary_line as race_summary

    for option, value in (("--epochs", args.epochs), ("--seed", args.seed),
                          ("--save-params", args.save_params),
                          ("--init-params", args.init_params)):
        if value is not None:
            raise UsageError(MSG["race_option"].format(option=option, name=scenario.name))
    try:   # the runner opens the trace file: a bad path is one line, not a traceback
        result = run_race(scenario, steps=args.steps, record=args.record,
                          record_every=args.record_every, handle_sigint=True)
    except OSError as e:
        raise UsageError(MSG["cannot_write"].format(path=args.record,
                                                    reason=e.strerror or e)) from None
    print(race_summary(result), flush=True)
    return result.exit_code


def _secs(t: float) -> str:
    return f"{t:.2f} s"


def _metrics_text(m: dict) -> str:
    from simtreino.headless.expect import fmt_value
    parts = []
    for prefix in ("", "val_", "test_"):
        loss, acc = m.get(prefix + "loss"), m.get(prefix + "accuracy")
        if loss is None:
            continue
        text = f"{prefix}loss {fmt_value(loss)}"
        if not prefix and m.get("penalty") is not None:   # part of the training loss
            text += MSG["penalty"].format(penalty=fmt_value(m["penalty"]))
        if acc is not None and not math.isnan(acc):   # NaN: a regression task
            text += f", {prefix}accuracy {fmt_value(acc)}"
        parts.append(text)
    return "; ".join(parts)


def _verdict(result) -> str:
    if not result.checks:
        return MSG["verdict_none"]
    if result.failures:
        return MSG["verdict_fail"].format(checks="; ".join(c.message for c in result.failures))
    if result.status == "diverged":
        return MSG["verdict_ok_div"]
    return MSG["verdict_ok"].format(n=len(result.checks))


def finding_lines(result) -> list[str]:
    """One line per finding of the training diagnostics, in the current
    language (``simtreino.i18n``): what, since when, why and the cure. A
    divergence is already explained by the summary line (its likely cause,
    the learning rate): its ``lr_too_high`` finding is not repeated."""
    from simtreino.i18n import t
    out = []
    for f in getattr(result, "findings", ()) or ():
        if result.status == "diverged" and f.explain_key in (
                "diag.lr_too_high.explain.nan", "diag.lr_too_high.explain.exploded"):
            continue
        where = t("diag.where_layer", layer=f.layer + 1) if f.layer is not None else ""
        out.append(t("diag.line", title=f.title(), step=f.step, epoch=f.epoch, where=where,
                     explanation=f.explanation(), cure=f.suggestion()))
    return out


def early_stop_line(result) -> str | None:
    """One line when early stopping ended the run (None otherwise): the
    epochs it waited, where it stopped and which weights the run ends with."""
    from simtreino.headless.expect import fmt_value
    es = getattr(result.snapshot, "early_stop", None)
    if result.status != "finished" or es is None or not es.stopped_epoch:
        return None
    key = ("early_stop" if es.restored else "early_stop_kept" if es.best_epoch
           else "early_stop_none")
    return MSG[key].format(monitor=es.monitor, wait=es.wait, epoch=es.stopped_epoch,
                           best_epoch=es.best_epoch, best=fmt_value(es.best))


def summary_line(result, args=None) -> str:
    snap = result.snapshot
    name = result.scenario.name
    if result.status == "interrupted":
        extra = ""
        if result.trace_path:
            extra += MSG["trace_kept"].format(path=result.trace_path)
        if args is not None and args.save_params:
            extra += MSG["params_saved"].format(path=args.save_params)
        return MSG["summary_int"].format(name=name, step=snap.step, epoch=snap.epoch,
                                         secs=_secs(result.seconds), extra=extra)
    if result.status == "diverged":
        why = MSG["why_exploded"] if snap.divergence == "exploded" else MSG["why_nan"]
        # The step that diverged belongs to the epoch after the last finished one.
        return MSG["summary_div"].format(name=name, step=snap.step, epoch=snap.epoch + 1,
                                         secs=_secs(result.seconds), why=why, lr=snap.lr,
                                         verdict=_verdict(result))
    rate = result.steps_per_second
    return MSG["summary"].format(
        name=name, epochs=snap.epoch, steps=snap.step, secs=_secs(result.seconds),
        rate=f"{rate:,.0f}" if math.isfinite(rate) else "-",
        metrics=_metrics_text(result.metrics), verdict=_verdict(result))


# ---------------------------------------------------------------- replay
def cmd_replay(args) -> int:
    import time
    from simtreino.headless.junit import write_junit
    from simtreino.headless.replay import prepare_items, replay_item

    _check_writable(args.junit)
    items = prepare_items(args.items)
    t0 = time.perf_counter()
    results = []
    for item in items:
        r = replay_item(item, args.rtol, args.atol)
        results.append(r)
        notes = "".join(f" [{n}]" for n in r.notes)
        print(MSG["item"].format(verdict="PASS" if r.ok else "FAIL", name=r.name,
                                 message=r.message, notes=notes, secs=r.seconds), flush=True)
    passed = sum(r.ok for r in results)
    print(MSG["totals"].format(passed=passed, failed=len(results) - passed), flush=True)
    if args.junit:
        try:
            write_junit(args.junit, results, time.perf_counter() - t0)
        except OSError as e:
            raise UsageError(MSG["cannot_write"].format(path=args.junit,
                                                        reason=e.strerror or e)) from None
    if any(r.error for r in results):
        return EXIT_USAGE
    return EXIT_OK if passed == len(results) else EXIT_FAILED


# ---------------------------------------------------------- check / list
def cmd_check(args) -> int:
    from simtreino.scenario import find_scenario, load_scenario
    from simtreino.scenario.build import build_dataset

    for f in args.files:
        s = load_scenario(find_scenario(f))
        if s.kind != "race":
            build_dataset(s)   # a missing or broken csv is an invalid scenario too
        print(MSG["ok"].format(file=f, name=s.name), flush=True)
    return EXIT_OK


def cmd_list(args) -> int:
    from simtreino.scenario import ScenarioError, list_bundled, load_scenario

    rows, bad = [], []
    for name, path in list_bundled():
        try:
            rows.append((name, load_scenario(path).description))
        except ScenarioError as e:
            bad.append(str(e))
    if not rows and not bad:
        print(MSG["list_empty"])
    width = max((len(n) for n, _ in rows), default=0)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    for e in bad:   # a broken bundled file is a bug worth seeing, not hiding
        sys.stderr.write(MSG["error"].format(prog=PROG, msg=e) + "\n")
    return EXIT_USAGE if bad else EXIT_OK


def cmd_data(args) -> int:
    from simtreino.headless.datacmd import cmd_data as run_data_command
    return run_data_command(args)


# ------------------------------------------------------ explain / gradcheck
def cmd_explain(args) -> int:
    import json
    from simtreino.headless.explain import explain, render_text
    from simtreino.i18n import get_lang

    try:
        d = explain(args.scenario, step=args.step, sample=args.sample,
                    init_params=args.init_params)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.format == "json":
        print(json.dumps(d, ensure_ascii=False), flush=True)
    else:
        sys.stdout.write(render_text(d, get_lang(), markdown=args.format == "markdown"))
        sys.stdout.flush()
    return EXIT_OK




def cmd_surface(args) -> int:
    from simtreino.headless.surface_export import SurfaceError, export_surface
    from simtreino.scenario import find_scenario, load_scenario

    scenario = load_scenario(find_scenario(args.scenario))
    _check_writable(args.out)
    try:
        done = export_surface(scenario, args.out, epochs=args.epochs, steps=args.steps,
                              seed=args.seed, directions=args.directions, grid=args.grid,
                              extent=args.extent, samples=args.samples)
    except SurfaceError as e:
        raise UsageError(str(e)) from None
    print(done.summary, flush=True)
    return EXIT_OK


def cmd_gradcheck(args) -> int:
    from simtreino.analysis.gradcheck import DEFAULT_SAMPLE, gradient_check
    from simtreino.headless.explain import gradcheck_report, trainer_before

    try:
        _, tr = trainer_before(args.scenario, step=args.step, init_params=args.init_params)
        gc = gradient_check(tr, eps=args.eps, max_params=args.max_params or DEFAULT_SAMPLE)
    except ValueError as e:
        raise UsageError(str(e)) from None
    for line, _ in gradcheck_report(gc, show_all=args.all):
        print(line, flush=True)
    return EXIT_OK if gc.ok else EXIT_FAILED


# --------------------------------------------------------- terminal UI
def _set_lang(args) -> None:
    from simtreino.i18n import default_lang, set_lang
    set_lang(getattr(args, "lang", None) or default_lang())


def cmd_open(args) -> int:
    from simtreino.tui.launch import open_app
    return open_app(args.scenario, seed=args.seed)


def cmd_screenshot(args) -> int:
    from simtreino.tui.launch import screenshot
    _check_writable(args.out)
    return screenshot(args.scenario, args.out, epochs=max(0, args.epochs), size=args.size,
                      screen=args.screen, seed=args.seed, page=max(0, args.page),
                      keys=args.keys.split())


# ------------------------------------------------------------------ main
def default_action(lang=None) -> int:
    """What ``simtreino`` alone does: open the terminal UI on XOR."""
    return main(["open", DEFAULT_SCENARIO] + (["--lang", lang] if lang else []))


def main(argv=None) -> int:
    """Entry point; returns the exit code (argparse's --help and usage
    errors raise SystemExit)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        return default_action()
    args = build_parser().parse_args(argv)
    if args.command is None:
        return default_action(args.lang)
    _set_lang(args)
    from simtreino.headless.errors import InputError
    from simtreino.scenario import ScenarioError
    try:
        return args.func(args)
    except (ScenarioError, InputError, UsageError) as e:
        sys.stderr.write(MSG["error"].format(prog=PROG, msg=e) + "\n")
        return EXIT_USAGE
    except BrokenPipeError:
        # `simtreino list | head`: the reader left; nothing more to say.
        sys.stderr.close()
        return EXIT_OK
    except OSError as e:
        # The disk filled up, a file vanished mid-run...: still one line.
        msg = MSG["os_error"].format(file=e.filename, reason=e.strerror) if e.filename else e
        sys.stderr.write(MSG["error"].format(prog=PROG, msg=msg) + "\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl+C outside a run (while loading, compiling, replaying).
        sys.stderr.write("\n" + MSG["interrupted"].format(prog=PROG) + "\n")
        return EXIT_INTERRUPTED
