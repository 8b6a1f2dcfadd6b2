"""The texts the plot widgets draw themselves, in the interface's language
(the widgets take every text as a parameter and know no catalogue)."""

from simtreino.i18n import t


def plot_texts() -> dict:
    """A line plot's own texts: what it shows with no data, and when a log
    scale has nothing positive to draw."""
    return {"no_data_text": t("panel.no_data"), "log_fallback_text": t("panel.log_fallback")}
