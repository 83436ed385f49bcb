"""What the loaders of the model hubs (torchvision, timm) share."""

from __future__ import annotations

import difflib

from cnnstat.errors import CnnstatError


def check_hub_model(spec: str, hub: str, name: str, names: list[str]) -> None:
    """Refuse a model the hub (torchvision, timm) does not have, with its closest names."""
    if name not in names:
        matches = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(matches)}?" if matches else ""
        raise CnnstatError(f"{spec}: {hub} has no model {name!r}{hint}")
