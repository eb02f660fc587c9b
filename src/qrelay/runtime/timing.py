"""Durations as people read them: ``0.5 s``, ``12 s``, ``3 min 20 s``."""

from __future__ import annotations


def format_seconds(seconds: float | None) -> str:
    """``seconds`` rounded for a message: a tenth below ten seconds, whole seconds above,
    minutes past two minutes (``None``: no bound)."""
    if seconds is None:
        return "no bound"
    if seconds < 10:
        text = f"{seconds:.1f}".removesuffix(".0")
        return f"{text} s"
    if seconds < 120:
        return f"{round(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"
