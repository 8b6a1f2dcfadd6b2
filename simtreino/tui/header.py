"""The status line: what is training, where it stands, how fast, in what state."""

import math

from rich.text import Text
from textual.widgets import Static

from simtreino.i18n import grouped, scenario_name, t

BADGE_STYLE = {
    "paused": "bold black on rgb(200,200,80)",
    "training": "bold black on rgb(80,200,120)",
    "finished": "bold black on rgb(100,160,255)",
    "diverged": "bold white on rgb(200,40,40)",
    "stopped": "bold black on rgb(190,150,255)",
    "compiling": "bold black on rgb(230,150,60)",
}


def fmt(x, spec=".4g") -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 2; padding: 0 1; background: $panel; }
    """

    def show(self, view) -> None:
        snap = view.snapshot
        line = Text()
        badge = t("state.badge_compiling") if view.state == "compiling" else t("state." + view.state)
        line.append(f" {badge} ", style=BADGE_STYLE.get(view.state, "reverse"))
        line.append(f"  {scenario_name(view.scenario)}", style="bold")
        sep = ("  ·  ", "dim")
        parts = [
            f"{t('header.epoch')} {snap.epoch}/{view.target_epochs}",
            f"{t('header.step')} {snap.step}",
            f"{t('header.lr_short')} {fmt(snap.lr)}",
            view.optimizer,
            f"{t('header.batch_size')} "
            + (t("header.batch_full") if view.full_batch else str(view.batch_size)),
            t("speed.max") if view.speed is None else t("speed.value", n=view.speed),
        ]
        for p in parts:
            line.append(*sep)
            line.append(p)
        if view.recording:
            line.append("  ● REC", style="bold red")
        second = Text()
        penalty = getattr(snap, "penalty", math.nan)
        if math.isfinite(penalty) and penalty > 0:
            # the training loss is the objective: data loss + penalty
            second.append(f" {t('panel.loss')} " + t("header.loss_penalty", loss=fmt(snap.loss),
                                                    penalty=fmt(penalty, ".3g")))
        else:
            second.append(f" {t('panel.loss')} {fmt(snap.loss)}")
        if math.isfinite(snap.accuracy):
            second.append(f"   {t('panel.accuracy')} {fmt(snap.accuracy, '.3f')}")
        if math.isfinite(snap.val_loss):
            second.append(f"   {t('panel.validation')}: {t('panel.loss')} {fmt(snap.val_loss)}")
            if math.isfinite(snap.val_accuracy):
                second.append(f"  {t('panel.accuracy')} {fmt(snap.val_accuracy, '.3f')}")
        es = getattr(snap, "early_stop", None)
        if es is not None and not es.stopped_epoch:
            second.append("   " + t("header.patience", wait=es.wait, patience=es.patience),
                          style="bold" if es.wait else "")
        if view.state == "training":
            second.append(f"   {grouped(view.measured_speed)} {t('header.measured')}",
                          style="dim")
        second.append(f"   {t('header.seed')} {view.seed}", style="dim")
        self.update(two_lines(line, second, self.size.width))


def two_lines(first: Text, second: Text, width: int) -> Text:
    """Both lines cut to the width with an ellipsis: a long scenario name
    must not wrap and push the metrics line out of the two-row bar."""
    room = max(10, width - 2) if width else 10_000
    for line in (first, second):
        line.truncate(room, overflow="ellipsis")
    out = Text("\n").join([first, second])
    out.no_wrap = True
    return out
