"""A tree folded to the deepest depth whose whole output fits one screen of a terminal: the
title, the table and every line under it, counted as the terminal shows them (wrapped at its
width), one line short of the screen's height (the shell's next line would scroll the title away)."""

from __future__ import annotations

from typing import Callable, Sequence

from cnnstat.frame.view import View
from cnnstat.render.text import to_text


def screen_depth(view_at: Callable[[int | None], View], depths: Sequence[int], width: int, height: int,
                 chosen: bool = False) -> int | None:
    """The deepest depth whose output at ``width`` takes fewer lines than ``height``; None when
    every row fits. ``view_at(depth)`` is the view at that depth (None: every row) with the note
    that says what it folded. At least depth 1: depth 0, the model's row alone, repeats the totals
    (a screen shorter than depth 1 and the lines under it scrolls)."""
    room = height - 1

    def fits(depth: int | None) -> bool:
        rows = sum(1 for d in depths if depth is None or d <= depth)
        # A row takes a line at least: only a tree that could fit is drawn and counted.
        return rows <= room and len(to_text(view_at(depth), width, chosen).splitlines()) <= room

    deepest = max(depths, default=0)
    if deepest <= 1 or fits(None):
        return None
    return next((depth for depth in range(deepest - 1, 1, -1) if fits(depth)), 1)


def folded_note(depths: list[int], depth: int) -> str:
    """What a screen-sized tree leaves folded, and the option that shows every row."""
    shown = sum(1 for d in depths if d <= depth)
    return (f"{shown} of {len(depths)} rows, to depth {depth} (a row stands for its subtree, its figures "
            f"inclusive): --depth {max(depths)} shows every row, --sort macs --top 20 the costliest layers.")
