"""`cnnstat report`: regenerate the reports/ folder (zoo table, every study, plots, index)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import typer

from cnnstat.cli.compare import DEVICE_HELP, comparison_facts
from cnnstat.cli.study import study_facts
from cnnstat.errors import CnnstatError


def _write_tables(frame, hidden, facts, stem: Path):
    """stem.md (chosen columns, units) and stem.csv (every column, raw numbers); returns the
    view of chosen columns, for the index page."""
    from cnnstat.frame.compare import comparison_view
    from cnnstat.render.emit import render_text
    from cnnstat.render.output import write_atomic

    view = comparison_view(frame, hidden, facts)
    write_atomic(stem.with_suffix(".md"), render_text(view, "md"))
    write_atomic(stem.with_suffix(".csv"), render_text(comparison_view(frame, hidden, facts, full=True), "csv"))
    return view


TORCHVISION_FOOTER = (
    "Published: each model's default weights entry, its num_params and _ops (torchvision's \"GFLOPS\": MACs of "
    "conv, linear and matmul, in G to three decimals). Ours: the architecture those weights describe, built without "
    "them, at the input of their preprocessing (16 frames for video, two 512x512 images for optical flow, the "
    "model's resize size for detection); counted on meta, or on the CPU in one real forward where the meta device "
    "cannot run an op (detection: boxes kept by score). Quantized models: their float architecture, as torchvision "
    "counts them.",
)


def _write_torchvision(out: Path, status):
    """torchvision.md and torchvision.csv: every model of torchvision's catalogue, published figures
    beside ours. Returns the view of the .md's columns, for the index page."""
    from cnnstat.analysis.torchvision_figures import catalogue, catalogue_row
    from cnnstat.figures import figure, keys, shape_text
    from cnnstat.frame.view import Facts, View
    from cnnstat.render.emit import render_text
    from cnnstat.render.output import write_atomic

    rows = []
    for name in catalogue():
        status.update(f"torchvision: {name}")
        row = catalogue_row(name)
        rows.append({**row, "input_size": shape_text(row["input_size"])})
    facts = Facts(title=["torchvision's catalogue: published figures and ours (batch 1)"],
                  notes=list(TORCHVISION_FOOTER))
    every = View([figure(key) for key in keys("torchvision")], rows, facts)
    shown = View([column for column in every.columns if column.key != "macs"], rows, facts)
    write_atomic(out / "torchvision.md", render_text(shown, "md"))
    write_atomic(out / "torchvision.csv", render_text(every, "csv"))
    return shown


MANIFEST = ".cnnstat-report"
"""The files ``cnnstat report`` wrote into a folder, one a line: it rewrites those and no others."""
MANIFEST_HEADER = "# Written by cnnstat report, which rewrites the files listed here and no other file of this folder.\n"
ZOO_FILES = ("README.md", "index.html", "zoo.md", "zoo.csv", "zoo_params_vs_macs.png")
TORCHVISION_FILES = ("torchvision.md", "torchvision.csv")


def files_of_earlier_reports(out: Path, writing: Sequence[str]) -> list[str]:
    """The files an earlier ``cnnstat report`` wrote into ``out`` (its ``MANIFEST``). Refuses, before
    any work, to replace a file of ``writing`` that is there and not among them (a README.md of
    the user's own)."""
    manifest = out / MANIFEST
    try:
        lines = manifest.read_text().splitlines(keepends=True) if manifest.exists() else [MANIFEST_HEADER]
    except (OSError, UnicodeDecodeError) as error:
        raise CnnstatError(f"cannot read --out {manifest}: {getattr(error, 'strerror', None) or error}") from None
    if lines[:1] != [MANIFEST_HEADER]:
        raise CnnstatError(f"--out {out}: {MANIFEST} there is not cnnstat report's list of its files; move it, "
                           "or give another folder")
    listed = [line.strip() for line in lines[1:] if line.strip()]
    theirs = [name for name in writing if name not in listed and ((out / name).exists() or (out / name).is_symlink())]
    if theirs:
        them = "it" if len(theirs) == 1 else "them"
        raise CnnstatError(f"--out {out}: cnnstat report did not write {', '.join(theirs)} there, so it does not "
                           f"replace {them}; move {them}, or give another folder")
    return listed


def report_command(
    out: Path = typer.Option(Path("reports"), "--out", help="The folder to (re)write."),
    device: str = typer.Option("meta", "--device", help=DEVICE_HELP),
    torchvision: bool = typer.Option(True, "--torchvision/--no-torchvision",
                                     help="Also write torchvision.md/.csv: every torchvision model, published figures "
                                          "beside ours (needs torchvision; detection models run once on the CPU, "
                                          "minutes)."),
) -> None:
    """Regenerate OUT: README.md (index and reading guide), index.html (every table on one page, to
    sort and filter in a browser), zoo.md/zoo.csv, one .md/.csv/.png per study, the zoo's
    params-vs-MACs plot, and torchvision.md/.csv. On meta (the default) every figure is
    deterministic (detection models: one seeded CPU forward)."""
    from rich.console import Console

    from cnnstat.analysis.build import resolve_device
    from cnnstat.analysis.compare import figures_of
    from cnnstat.analysis.records import CONVENTIONS
    from cnnstat.analysis.studies import FIELD_NOTE, field_extras, list_studies
    from cnnstat.frame.compare import STUDY_HIDDEN, ZOO_HIDDEN, comparison_frame
    from cnnstat.render.compare import READING_GUIDE, report_index
    from cnnstat.render.machine import machine_line
    from cnnstat.render.html import ReportSection, report_index_page
    from cnnstat.render.output import write_atomic
    from cnnstat.render.plots import study_bars, zoo_scatter
    from cnnstat.zoo import get_entry, list_models

    resolve_device(device)  # before any folder is made
    studies = list_studies()
    with_torchvision = torchvision and _has_torchvision()
    written = [*ZOO_FILES, *(f"studies/{study.name}.{suffix}" for study in studies for suffix in ("md", "csv", "png")),
               *(TORCHVISION_FILES if with_torchvision else ())]
    try:  # a name too long for the file system fails the first look at it
        if out.exists() and not out.is_dir():
            raise CnnstatError(f"--out {out} is a file, not a directory; give a folder to write the reports into")
        listed = files_of_earlier_reports(out, written)
        (out / "studies").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CnnstatError(f"cannot create --out {out}: {error.strerror}; give a folder you can write") from None
    # Listed before any is written: an interrupted run's files are still its own the next time.
    write_atomic(out / MANIFEST, MANIFEST_HEADER + "".join(f"{name}\n" for name in sorted({*listed, *written})))
    progress = Console(stderr=True)

    models = [name for name in list_models() if get_entry(name).family != "block"]
    with progress.status("") as status:
        rows = []
        for name in models:
            status.update(f"zoo: {name}")
            rows.append(figures_of(name, device=device))
        zoo = comparison_frame(rows, [field_extras(row.report) for row in rows])
        zoo_facts = comparison_facts(rows, "cnnstat zoo (default input, batch 1)", [FIELD_NOTE])
        zoo_table = _write_tables(zoo, ZOO_HIDDEN, zoo_facts, out / "zoo")
        sections = [ReportSection("Zoo", "zoo", zoo_table, ["zoo.md", "zoo.csv", "zoo_params_vs_macs.png"],
                                  charts=False, plot_svg=zoo_scatter(zoo, out / "zoo_params_vs_macs.png", inline=True))]

        for study in studies:
            status.update(f"study: {study.name}")
            result = study.run(device)
            frame = comparison_frame(result.rows, result.extras)
            stem = out / "studies" / study.name
            table = _write_tables(frame, STUDY_HIDDEN, study_facts(result), stem)
            study_bars(frame, result.title, stem.with_suffix(".png"))
            sections.append(ReportSection(f"{study.name}: {study.title}", study.name, table,
                                          [f"studies/{study.name}.{suffix}" for suffix in ("md", "csv", "png")]))
        torchvision_table = _write_torchvision(out, status) if with_torchvision else None
        if torchvision_table is not None:
            sections.append(ReportSection("torchvision: published figures and ours", "torchvision", torchvision_table,
                                          ["torchvision.md", "torchvision.csv"]))

    measured = [machine_line(zoo_facts.machine) + "."] if zoo_facts.machine else []
    index = report_index([(s.name, s.title, s.source) for s in studies], len(models), measured, CONVENTIONS)
    write_atomic(out / "README.md", index)
    subtitle = " ".join(measured) or "Static figures (meta device): deterministic."
    write_atomic(out / "index.html", report_index_page("cnnstat reports", subtitle, [*READING_GUIDE, CONVENTIONS],
                                                       sections))
    progress.print(f"wrote {out}/: README.md, index.html, zoo.md, zoo.csv, zoo_params_vs_macs.png, "
                   f"{len(studies)} studies (md, csv, png)"
                   + (f", torchvision.md and .csv ({len(torchvision_table.rows)} models)" if torchvision_table else ""))


def _has_torchvision() -> bool:
    import importlib.util

    return importlib.util.find_spec("torchvision") is not None
