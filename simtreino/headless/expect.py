"""The ``[expect]`` checks of a scenario, applied to the end of a run.

``diagnoses`` and ``no_diagnoses`` check the findings of the training
diagnostics (``analysis.diagnostics``): each name listed must have been
raised; with ``no_diagnoses = true`` none may be. ``stopped_early`` checks
whether early stopping ended the run."""

from dataclasses import dataclass
import math

# check name -> (metric it reads, comparison, how the requirement reads)
CHECKS = {
    "loss_below": ("loss", "below", "< {limit:g}"),
    "accuracy_at_least": ("accuracy", "at_least", ">= {limit:g}"),
    "val_loss_below": ("val_loss", "below", "< {limit:g}"),
    "val_accuracy_at_least": ("val_accuracy", "at_least", ">= {limit:g}"),
    "test_loss_below": ("test_loss", "below", "< {limit:g}"),
    "test_accuracy_at_least": ("test_accuracy", "at_least", ">= {limit:g}"),
}

MSG = {
    "found": "{name}: expected {metric} {req}, found {found}",
    "no_split": "{name}: expected {metric} {req}, but the data has no {split} split",
    "diverged_unexpectedly": "the run diverged",
    "expected_divergence": "diverges: expected the run to diverge, it finished",
    "not_expected_divergence": "diverges = false: the run diverged",
    "diverged_before": "{name}: expected {metric} {req}, but the run diverged",
    "diagnoses_ok": "diagnoses: ok ({found})",
    "diagnoses_missing": "diagnoses: expected {missing} to be raised; {found}",
    "no_diagnoses_ok": "no_diagnoses: ok",
    "no_diagnoses_found": "no_diagnoses = true: the diagnostics raised {found}",
    "found_none": "no finding was raised",
    "found_some": "raised: {names}",
    "not_diagnosed": "{name}: the run was made without diagnostics",
    "stopped_early_ok": "stopped_early: ok (stopped at epoch {epoch})",
    "not_stopped_ok": "stopped_early: ok (trained every epoch)",
    "expected_stop": ("stopped_early = true: early stopping did not end the run ({wait} "
                      "epoch(s) without improvement of {monitor} at the end, patience {patience})"),
    "expected_stop_off": "stopped_early = true: early stopping is off in this run",
    "expected_stop_div": "stopped_early = true: the run diverged before early stopping ended it",
    "unexpected_stop": "stopped_early = false: early stopping ended the run at epoch {epoch} "
                       "(best epoch {best})",
}


@dataclass(frozen=True)
class CheckResult:
    name: str          # the [expect] key (or "diverges")
    ok: bool
    limit: object      # the value the scenario asked for
    found: object      # the value the run reached (nan when not measured)
    message: str       # one line, for people


def fmt_value(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        return f"{x:.6g}"
    return str(x)


def check_expect(expect, metrics: dict, diverged: bool,
                 findings: list[str] | None = None, early_stop=None) -> list[CheckResult]:
    """One result per check the scenario declares (none: empty list).

    ``metrics``: loss, accuracy, val_loss, val_accuracy, test_loss,
    test_accuracy (None when the data has no such split). A run that diverges
    without ``diverges = true`` always fails, [expect] or not: a run is
    never silently "fine" with NaN weights.

    ``findings``: the names of the findings the run raised (None: the run
    was not diagnosed, and diagnosis checks fail saying so).

    ``early_stop``: the run's ``trainer.EarlyStop`` (None: early stopping
    was off), for ``stopped_early``."""
    out = []
    if expect.diverges is True:
        out.append(CheckResult("diverges", diverged, True, diverged,
                               "diverges: ok" if diverged else MSG["expected_divergence"]))
    elif expect.diverges is False:
        out.append(CheckResult("diverges", not diverged, False, diverged,
                               "diverges: ok" if not diverged else MSG["not_expected_divergence"]))
    elif diverged:
        out.append(CheckResult("diverges", False, None, True, MSG["diverged_unexpectedly"]))
    for name, (metric, how, req) in CHECKS.items():
        limit = getattr(expect, name)
        if limit is None:
            continue
        found = metrics.get(metric)
        req_s = req.format(limit=limit)
        if found is None:
            ok = False
        else:
            ok = (found < limit) if how == "below" else (found >= limit)   # NaN fails both
        if ok:
            msg = f"{name}: ok ({fmt_value(found)})"
        elif diverged:
            msg = MSG["diverged_before"].format(name=name, metric=metric, req=req_s)
        elif found is None:
            msg = MSG["no_split"].format(name=name, metric=metric, req=req_s,
                                         split=metric.split("_")[0])
        else:
            msg = MSG["found"].format(name=name, metric=metric, req=req_s, found=fmt_value(found))
        out.append(CheckResult(name, bool(ok), limit, found, msg))
    out.extend(check_findings(expect, findings))
    out.extend(check_stopped_early(expect, early_stop, diverged))
    return out


def check_stopped_early(expect, early_stop, diverged: bool = False) -> list[CheckResult]:
    """The ``stopped_early`` check (none when not asked). ``early_stop``:
    ``trainer.EarlyStop`` or None (off: it never stops early)."""
    want = getattr(expect, "stopped_early", None)
    if want is None:
        return []
    es = early_stop
    stopped = es is not None and es.stopped_epoch > 0
    if stopped == want:
        msg = (MSG["stopped_early_ok"].format(epoch=es.stopped_epoch) if stopped
               else MSG["not_stopped_ok"])
    elif not want:
        msg = MSG["unexpected_stop"].format(epoch=es.stopped_epoch, best=es.best_epoch)
    elif diverged:
        msg = MSG["expected_stop_div"]
    elif es is None:
        msg = MSG["expected_stop_off"]
    else:
        msg = MSG["expected_stop"].format(wait=es.wait, monitor=es.monitor, patience=es.patience)
    return [CheckResult("stopped_early", stopped == want, want, stopped, msg)]


def _found_text(names) -> str:
    if not names:
        return MSG["found_none"]
    return MSG["found_some"].format(names=", ".join(names))


def check_findings(expect, findings: list[str] | None) -> list[CheckResult]:
    """The ``diagnoses`` / ``no_diagnoses`` checks (none when not asked)."""
    out = []
    wanted = getattr(expect, "diagnoses", None)
    forbid = getattr(expect, "no_diagnoses", None)
    if wanted:
        if findings is None:
            out.append(CheckResult("diagnoses", False, list(wanted), None,
                                   MSG["not_diagnosed"].format(name="diagnoses")))
        else:
            missing = [n for n in wanted if n not in findings]
            msg = (MSG["diagnoses_ok"].format(found=", ".join(wanted)) if not missing else
                   MSG["diagnoses_missing"].format(missing=", ".join(missing),
                                                   found=_found_text(findings)))
            out.append(CheckResult("diagnoses", not missing, list(wanted), list(findings), msg))
    if forbid:
        if findings is None:
            out.append(CheckResult("no_diagnoses", False, True, None,
                                   MSG["not_diagnosed"].format(name="no_diagnoses")))
        else:
            out.append(CheckResult("no_diagnoses", not findings, True, list(findings),
                                   MSG["no_diagnoses_ok"] if not findings else
                                   MSG["no_diagnoses_found"].format(found=", ".join(findings))))
    return out
