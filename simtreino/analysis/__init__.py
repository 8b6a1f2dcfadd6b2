"""Analyses of a trainer's numbers: pure functions returning arrays and
records (numpy and core only; no UI)."""

from .gradcheck import GradCheck, gradient_check, param_name

__all__ = ["GradCheck", "gradient_check", "param_name"]
