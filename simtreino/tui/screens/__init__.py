"""Modal screens of the dashboard: help, hyperparameter form, scenario picker.

Bindings here are declared with message keys as descriptions
(``Binding("escape", "close", "binding.close")``) and turned into the
current language per instance by ``localize_bindings``; the app can do the
same with its own bindings, and call it again after switching language.
"""

from dataclasses import replace

from simtreino.i18n import MESSAGES, t

__all__ = ["HelpScreen", "HyperparamScreen", "ScenarioPicker", "localize_bindings",
           "help_entries"]


def localize_bindings(node) -> None:
    """Give ``node`` (an App, Screen or Widget) its class bindings with each
    description that is a catalogue key replaced by its text in the current
    language. Bindings added at run time (``node.bind``) are left alone."""
    merged = type(node)._merged_bindings
    if merged is None:
        return
    for key, bindings in merged.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            replace(b, description=t(b.description)) if b.description in MESSAGES else b
            for b in bindings
        ]
    try:
        node.refresh_bindings()
    except Exception:  # not mounted yet: the footer reads them when it is
        pass


def help_entries(app) -> list[tuple[str, str]]:
    """``[(key_display, description), …]`` of the app's active bindings that
    have a description, in order, with keys sharing a description joined
    ("+ / -" style). Call it before pushing ``HelpScreen``."""
    out: dict[str, list[str]] = {}
    for active in app.active_bindings.values():
        b = active.binding
        if not b.description or b.system:
            continue
        shown = app.get_key_display(b)
        keys = out.setdefault(b.description, [])
        if shown not in keys:
            keys.append(shown)
    return [(" / ".join(keys), desc) for desc, keys in out.items()]


from .help import HelpScreen  # noqa: E402
from .hyperparams import HyperparamScreen  # noqa: E402
from .picker import ScenarioPicker  # noqa: E402
