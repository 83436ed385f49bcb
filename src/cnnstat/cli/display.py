"""How a result shows itself from Python (``cnnstat.shown``): a report, a comparison and a
sweep draw the views and pages their commands draw, so a notebook shows what ``-o x.html``
writes and ``print()`` what the terminal prints. Registered by ``import cnnstat``; every
import is inside a function, so registering imports neither torch nor pandas."""

from __future__ import annotations

from typing import Any, Sequence


def _kind(result: Any) -> str:
    """Which result: "report", "comparison", "sweep" or "bench" (by the class's name: importing
    the classes here would import torch)."""
    kinds = {"Report": "report", "Comparison": "comparison", "SweepResult": "sweep", "BenchResult": "bench"}
    for cls in type(result).__mro__:
        if cls.__name__ in kinds:
            return kinds[cls.__name__]
    raise TypeError(f"cnnstat cannot draw a {type(result).__name__}")


def _comparison_view(rows, full: bool = False):
    from cnnstat.cli.compare import comparison_facts
    from cnnstat.frame.compare import COMPARE_HIDDEN, comparison_frame, comparison_view

    title = f"{' vs '.join(row.label for row in rows)}  (device {rows[0].device})"
    base = next((row.label for row in rows if all(value == 1 for value in row.ratios.values())), rows[0].label)
    facts = comparison_facts(rows, title, [f"Columns \"... x\": each model's figure / {base}'s."])
    return comparison_view(comparison_frame(rows), COMPARE_HIDDEN, facts, full=full)


def _view(result: Any, depth: int | None = None):
    kind = _kind(result)
    if kind == "report":
        from cnnstat.frame.views import summary_view

        return summary_view(result, depth)
    if kind == "comparison":
        return _comparison_view(result)
    if kind == "bench":
        from cnnstat.frame.bench import bench_view

        return bench_view(result)
    from cnnstat.frame.views import sweep_view

    return sweep_view(result)


def text(result: Any, depth: int | None = None, columns: Sequence[str] | None = None) -> str:
    """The command line's table and the lines under it, at its natural width."""
    from cnnstat.render.text import to_text

    if depth is not None and _kind(result) != "report":
        raise ValueError("depth folds a report's tree of layers; this table has none")
    view = _view(result, depth)
    if columns is not None:
        known = [column.key for column in view.columns]
        unknown = [key for key in columns if key not in known]
        if unknown:
            raise ValueError(f"unknown columns {', '.join(unknown)}; this table has: {', '.join(known)}")
        view = view.only(list(columns))
    return to_text(view, chosen=columns is not None)


def html(result: Any) -> str:
    """The page ``-o x.html`` writes: self-contained, no request."""
    kind = _kind(result)
    if kind == "report":
        from cnnstat.cli.summary import summary_html

        return summary_html(result, _view(result))
    from cnnstat.render.html import figures_page

    if kind == "comparison":
        return figures_page(_view(result), "cnnstat: the models side by side")
    if kind == "bench":
        from cnnstat.render.bench_page import bench_page

        return bench_page(_view(result))
    from cnnstat.cli.sweep import sweep_html

    return sweep_html(_view(result))


def short(result: Any) -> str:
    """One line: what the result is and its headline figures."""
    from cnnstat.figures import shape_text
    from cnnstat.render.units import human_count

    kind = _kind(result)
    if kind == "report":
        measured = (f", {result.measured.latency_ms:,.3g} ms on {result.measured.machine.device}"
                    if result.measured is not None else "")
        return (f"<cnnstat Report {result.model} input {shape_text(result.input_shape)}: {len(result.layers)} rows, "
                f"{human_count(result.totals.params)} params, {human_count(result.totals.macs)} MACs{measured}>")
    if kind == "comparison":
        return f"<cnnstat Comparison of {len(result)} models: {', '.join(row.label for row in result)}>"
    if kind == "bench":
        return (f"<cnnstat BenchResult {', '.join(result.models)}: {len(result.reports)} configurations on "
                f"{result.device}, {result.mode}>")
    return f"<cnnstat SweepResult {result.model}: {len(result.points)} points>"


def frame(result: Any):
    """The rows as a pandas DataFrame, raw numbers under the CSV's keys."""
    kind = _kind(result)
    if kind == "report":
        from cnnstat.frame.build import layer_frame

        return layer_frame(result)
    if kind == "comparison":
        from cnnstat.frame.compare import comparison_frame

        return comparison_frame(result)
    if kind == "bench":
        from cnnstat.frame.bench import bench_frame

        return bench_frame(result)
    import pandas as pd

    from cnnstat.frame.views import sweep_csv_view

    view = sweep_csv_view(result)
    return pd.DataFrame(view.rows, columns=[column.key for column in view.columns])
