"""The one error a scenario file can produce, and how values are shown in it."""

import datetime as _dt
import difflib
import json
import math


class ScenarioError(Exception):
    """A scenario that cannot be used, as one line of text:

    ``{file}: {key}: {message}`` -- for example
    ``scenarios/x.toml: optimizer.lr: expected a number >= 0, got "fast"``.

    ``file`` is the file as the user named it, ``key`` the dotted key
    (``model.layers[1].activation``) or None when the problem is not about
    one key, ``line`` the line of a TOML syntax error (else None).
    """

    def __init__(self, file, key: str | None, message: str, line: int | None = None):
        self.file = str(file)
        self.key = key
        self.message = message
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.key:
            parts.append(self.key)
        parts.append(self.message)
        return ": ".join(" ".join(str(p).split("\n")) for p in parts)

    def __reduce__(self):  # picklable (worker processes, pytest-xdist)
        return (type(self), (self.file, self.key, self.message, self.line))


def show(value, limit: int = 60) -> str:
    """A value as it would be written in TOML, short enough for one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        s = json.dumps(value, ensure_ascii=False)
        return s if len(s) <= limit else s[:limit - 4] + '..."'
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (list, tuple)):
        s = "[" + ", ".join(show(v, limit) for v in value) + "]"
        return s if len(s) <= limit else s[:limit - 4] + "...]"
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    s = repr(value)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def did_you_mean(word: str, candidates) -> str | None:
    """The closest candidate to a misspelt word, or None."""
    found = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return found[0] if found else None


def one_of(choices) -> str:
    """``'xor', 'and', 'or'`` -- the allowed values of a setting, in order."""
    return ", ".join(f"'{c}'" for c in choices)
