"""Declarations of numeric settings: type, default and allowed range.

The core declares each hyperparameter once here-style; the scenario validator
and the live hyperparameter form read the same declarations, so a value is
accepted or refused by the same rule everywhere.
"""

from dataclasses import dataclass
import math


@dataclass(frozen=True)
class Hyper:
    default: object
    type: str = "float"  # float | int | bool | pair
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: value must be > low (not >=)
    high_open: bool = False
    doc: str = ""

    def check(self, value):
        """Return the value converted to its type, or raise ValueError(expected)."""
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ValueError("true or false")
            return value
        if self.type == "pair":
            if (not isinstance(value, (list, tuple)) or len(value) != 2
                    or not all(_is_number(v) for v in value)):
                raise ValueError(f"a pair of numbers {self.describe_range()}".rstrip())
            for v in value:
                self._check_range(float(v))
            return (float(value[0]), float(value[1]))
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"an integer {self.describe_range()}".rstrip())
            self._check_range(value)
            return value
        if not _is_number(value):
            raise ValueError(f"a number {self.describe_range()}".rstrip())
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"a finite number {self.describe_range()}".rstrip())
        self._check_range(v)
        return v

    def _check_range(self, v):
        bad = (
            (self.low is not None and (v < self.low or (self.low_open and v == self.low)))
            or (self.high is not None and (v > self.high or (self.high_open and v == self.high)))
        )
        if bad:
            noun = {"int": "an integer", "pair": "numbers"}.get(self.type, "a number")
            raise ValueError(f"{noun} {self.describe_range()}")

    def describe_range(self) -> str:
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            return f"in {left}{_fmt(lo)}, {_fmt(hi)}{right}"
        if lo is not None:
            return f"{'>' if self.low_open else '>='} {_fmt(lo)}"
        if hi is not None:
            return f"{'<' if self.high_open else '<='} {_fmt(hi)}"
        return ""


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fmt(x) -> str:
    return f"{x:g}"


def resolve(kind_name: str, decl: dict, given: dict) -> dict:
    """Defaults overlaid with the given values, each checked.

    Raises KeyError(name) for an unknown name and ValueError((name, expected))
    for a bad value; callers turn these into messages with file and key.
    """
    out = {k: h.default for k, h in decl.items()}
    for k, v in given.items():
        if k not in decl:
            raise KeyError(k)
        try:
            out[k] = decl[k].check(v)
        except ValueError as e:
            raise ValueError((k, str(e))) from None
    return out
