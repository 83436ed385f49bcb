"""cnnstat: what a convolutional network costs, layer by layer.

The public API is loaded lazily so that ``import cnnstat`` (and ``cnnstat list``) does
not import torch.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cnnstat")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

_LAZY = {
    "create_model": "cnnstat.zoo",
    "list_models": "cnnstat.zoo",
    "get_entry": "cnnstat.zoo",
    "register_model": "cnnstat.zoo",
    "profile": "cnnstat.analysis.report",
    "Report": "cnnstat.analysis.report",
    "compare": "cnnstat.analysis.compare",
    "measured_report": "cnnstat.analysis.report",
    "Comparison": "cnnstat.analysis.compare",
    "sweep": "cnnstat.analysis.sweep",
    "SweepResult": "cnnstat.analysis.sweep",
    "bench": "cnnstat.analysis.bench",
    "BenchResult": "cnnstat.analysis.bench",
}

__all__ = ["__version__", *_LAZY]


def _register_display() -> None:
    """Results (in ``cnnstat.analysis``) show themselves through ``cnnstat.cli.display``: a
    notebook's HTML, print()'s table. Cheap: both modules import their work lazily."""
    from cnnstat import shown
    from cnnstat.cli import display

    shown.register(display)


_register_display()


def __dir__():
    """Tab completion finds the public API, loaded or not (and nothing else)."""
    return sorted(__all__)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cnnstat' has no attribute {name!r}")
