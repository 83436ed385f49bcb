"""`cnnstat report`: regenerate the reports/ folder (zoo table, every study, plots, index)."""

from __future__ import annotations

from pathlib import Path

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

    for suffix, fmt in ((".md", "md"), (".csv", "csv")):
        write_atomic(stem.with_suffix(suffix), render_text(comparison_view(frame, hidden, facts, full=fmt == "csv"), fmt))
    return comparison_view(frame, hidden, facts)


def report_command(
    out: Path = typer.Option(Path("reports"), "--out", help="The folder to (re)write."),
    device: str = typer.Option("meta", "--device", help=DEVICE_HELP),
) -> None:
    """Regenerate OUT: README.md (index and reading guide), index.html (every table on one page, to
    sort and filter in a browser), zoo.md/zoo.csv, one .md/.csv/.png per study, and the zoo's
    params-vs-MACs plot. On meta (the default) every figure is deterministic."""
    from rich.console import Console

    from cnnstat.analysis.compare import figures_of
    from cnnstat.analysis.build import resolve_device
    from cnnstat.analysis.report import CONVENTIONS
    from cnnstat.analysis.studies import FIELD_NOTE, field_extras, list_studies
    from cnnstat.frame.compare import STUDY_HIDDEN, ZOO_HIDDEN, comparison_frame
    from cnnstat.render.compare import READING_GUIDE, report_index
    from cnnstat.render.footer import machine_line
    from cnnstat.render.html import ReportSection, report_index_page
    from cnnstat.render.output import write_atomic
    from cnnstat.render.plots import study_bars, zoo_scatter
    from cnnstat.zoo import get_entry, list_models

    resolve_device(device)  # before any folder is made
    if out.exists() and not out.is_dir():
        raise CnnstatError(f"--out {out} is a file, not a directory; give a folder to write the reports into")
    try:
        (out / "studies").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CnnstatError(f"cannot create --out {out}: {error.strerror}; give a folder you can write") from None
    progress = Console(stderr=True)

    models = [name for name in list_models() if get_entry(name).family != "block"]
    with progress.status("") as status:
        rows = []
        for name in models:
            status.update(f"zoo: {name}")
            rows.append(figures_of(name, device=device))
        zoo = comparison_frame([row.to_dict() | field_extras(row.report) for row in rows])
        zoo_facts = comparison_facts(rows, "cnnstat zoo (default input, batch 1)", [FIELD_NOTE])
        zoo_table = _write_tables(zoo, ZOO_HIDDEN, zoo_facts, out / "zoo")
        sections = [ReportSection("Zoo", "zoo", zoo_table, ["zoo.md", "zoo.csv", "zoo_params_vs_macs.png"],
                                  charts=False, plot_svg=zoo_scatter(zoo, out / "zoo_params_vs_macs.png", inline=True))]

        studies = list_studies()
        for study in studies:
            status.update(f"study: {study.name}")
            result = study.run(device)
            frame = comparison_frame(result.to_records())
            stem = out / "studies" / study.name
            table = _write_tables(frame, STUDY_HIDDEN, study_facts(result), stem)
            study_bars(frame, result.title, stem.with_suffix(".png"))
            sections.append(ReportSection(f"{study.name}: {study.title}", study.name, table,
                                          [f"studies/{study.name}.{suffix}" for suffix in ("md", "csv", "png")]))

    measured = [machine_line(zoo_facts.machine) + "."] if zoo_facts.machine else []
    index = report_index([(s.name, s.title, s.source) for s in studies], len(models), measured, CONVENTIONS)
    write_atomic(out / "README.md", index)
    subtitle = " ".join(measured) or "Static figures (meta device): deterministic."
    write_atomic(out / "index.html", report_index_page("cnnstat reports", subtitle, [*READING_GUIDE, CONVENTIONS],
                                                       sections))
    progress.print(f"wrote {out}/: README.md, index.html, zoo.md, zoo.csv, zoo_params_vs_macs.png, "
                   f"{len(studies)} studies (md, csv, png)")
