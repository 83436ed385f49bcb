"""Help that reads like a Unix tool's: an option's value named by what it is (``--input INPUT``,
``-o FILE``), a flag with no value shown, an argument by its name (``MODEL...``), and each
command's first paragraph on one line in the command list.

Typer shows Python types (``<bool>``, ``<str>``, ``<list[str]>``, ``{MODEL}``) where Click
showed metavars; these classes put the metavars back. They rely on Typer's ``TyperOption``
and ``TyperArgument`` help hooks; tests/cli/test_presentation.py holds what a user reads (no
Python type, no cut summary) with whatever Typer is installed.
"""

from __future__ import annotations

import typer.core


def _unix_params(params):
    for param in params:
        if isinstance(param, typer.core.TyperArgument):
            name = (param.metavar or param.name).upper()
            many = param.nargs != 1
            usage = f"{name}..." if many else name
            usage = usage if param.required else f"[{usage}]"
            param.metavar = name
            param.display_type_rich = lambda ctx: None
            param._usage_display_name = lambda usage=usage: usage
        elif isinstance(param, typer.core.TyperOption):
            if param.is_flag or param.count:
                param.display_type_rich = lambda ctx: None
            elif param.metavar is None:  # --min-run-time MIN_RUN_TIME
                param.metavar = max(param.opts, key=len).lstrip("-").upper().replace("-", "_")
    return params


def first_paragraph(text: str | None) -> str:
    """A docstring's first paragraph on one line: what the command list shows."""
    return " ".join((text or "").strip().split("\n\n")[0].split())


class UnixCommand(typer.core.TyperCommand):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.short_help = first_paragraph(self.help)

    def get_params(self, ctx):
        return _unix_params(super().get_params(ctx))


class UnixGroup(typer.core.TyperGroup):
    def get_params(self, ctx):
        return _unix_params(super().get_params(ctx))
