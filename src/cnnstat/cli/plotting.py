"""The --plot options the commands share, and the per-layer figures of `cnnstat summary`."""

from __future__ import annotations

from typing import Optional

import typer

from cnnstat.errors import CnnstatError
from cnnstat.figures import shape_text

PLOT_OPTION = typer.Option(None, "--plot", metavar="FILE", help="Also draw a figure to this file: .png or .svg (written atomically).")
PLOT_METRICS = ("macs", "memory", "latency", "roofline", "receptive-field", "timeline")
MEASURED_PLOT_METRICS = ("latency", "roofline")
PLOT_METRIC_OPTION = typer.Option(
    "macs", "--plot-metric",
    help="What --plot shows per layer: macs | memory (output bytes) | latency | roofline (this machine's "
         "measured ceilings, layers by FLOP/byte and achieved FLOP/s) | receptive-field (each layer's field "
         "against depth, the input size marked) | timeline (live memory over one training step, forward then backward, "
         "its peak and layer marked; measured beside it with --device cpu). latency and roofline need --device cpu "
         "or cuda.")


def check_plot(path: Optional[str]) -> None:
    """Refuse an unknown extension or an unwritable path before any work."""
    if path:
        from cnnstat.render.plots import check_plot_path

        check_plot_path(path)


def check_plot_metric(metric: str, measured: bool) -> None:
    if metric not in PLOT_METRICS:
        raise CnnstatError(f"unknown --plot-metric {metric!r}; choose one of {', '.join(PLOT_METRICS)}")
    if metric in MEASURED_PLOT_METRICS and not measured:
        raise CnnstatError(f"--plot-metric {metric} needs a measurement: use --device cpu or cuda, not meta")


def plot_title(report) -> str:
    from cnnstat.render.machine import threads_text

    machine = report.measured.machine if report.measured else None
    where = f"{machine.device_name} ({machine.device}, {threads_text(machine.threads)})" if machine else "device meta"
    return (f"{report.model}  input {shape_text(report.input_shape[1:])}  batch {report.batch}  "
            f"{report.dtype}  {report.mode}  {where}")


def summary_plot(report, frame, metric: str, path: str) -> None:
    """Per-layer bars of MACs, output memory or latency, or the layers on the roofline of the
    machine they were measured on."""
    from cnnstat.render import plots

    if metric == "roofline":
        if report.roofline is None:  # the measurement fell back to the static figures
            raise CnnstatError("no layer has a measured latency to place on the roofline")
        roofline_figure(report, path)
        return
    if metric == "timeline":
        timeline_figure(report, path)
        return
    if metric == "receptive-field":
        if report.receptive_field is None:
            raise CnnstatError(f"{report.model} has no spatial input, so no receptive field to plot")
        layers = [{"name": _call_name(layer), "size": layer.field_figures.size}
                  for layer in report.layers if layer.is_leaf and layer.field_figures is not None]
        plots.receptive_field_plot(layers, report.receptive_field.input_size, report.receptive_field.covers_at,
                                   plot_title(report), path)
        return
    plots.layer_bars(frame, plots.LAYER_METRICS[metric], plot_title(report), path)


def timeline_figure(report, path: str | None) -> str | None:
    """The live memory over one training step of the report's model, estimated, and measured
    beside it where the report was measured on the CPU; written to ``path`` or returned as SVG."""
    import torch

    from cnnstat.analysis.timeline import memory_timeline
    from cnnstat.render import plots

    measured_on = torch.device(report.measured.machine.device) if report.measured is not None else None
    timeline = memory_timeline(report, measured_on)
    return plots.memory_timeline_plot(timeline.live_bytes, timeline.backward_from, timeline.peak_layer,
                                      timeline.measured_live_bytes, plot_title(report) + "  (one training step)",
                                      path)


def _call_name(layer) -> str:
    return layer.name + (f" (call {layer.call + 1})" if layer.call else "")


def roofline_figure(report, path: str | None) -> str | None:
    """The leaf layers on the roofline of the machine they were measured on, written to
    ``path`` or returned as SVG markup (no path)."""
    from cnnstat.render import plots

    roofline = report.roofline
    layers = [{"name": layer.name, "type": layer.type, "flops": layer.flops, "intensity": layer.intensity_flop_per_byte,
               "achieved_flops_per_s": layer.achieved_flops_per_s}
              for layer in report.layers if layer.bound is not None and layer.is_leaf]
    return plots.roofline_plot(layers, roofline.peak_flops_per_s, roofline.bandwidth_bytes_per_s, plot_title(report),
                               path)
