"""Errors of the headless commands: unusable input, told in one line.

Same shape as ``ScenarioError`` (``file: key: message``) so the command line
prints every bad-input error the same way and exits with code 2.
"""


class InputError(Exception):
    """A file (or value) that cannot be used. ``key`` names the part of it
    at fault (an array name, ``line 5``, an option) or is None."""

    def __init__(self, file, key: str | None, message: str):
        self.file = str(file)
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.key, self.message) if p]
        return ": ".join(" ".join(str(p).split()) for p in parts)

    def __reduce__(self):
        return (type(self), (self.file, self.key, self.message))


class ParamsError(InputError):
    """A parameter file (.npz) that does not fit the network."""


class TraceError(InputError):
    """A trace file (.jsonl) that cannot be read."""
