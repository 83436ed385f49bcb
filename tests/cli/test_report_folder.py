"""`cnnstat report --out DIR` rewrites the files it wrote there before (its list, DIR/.cnnstat-report)
and never replaces another file: a README.md of the user's own stops it before any work."""

from pathlib import Path

import pytest

from cnnstat.cli.report import MANIFEST, MANIFEST_HEADER, files_of_earlier_reports
from cnnstat.errors import CnnstatError
from tests.cli.test_hardening import assert_one_clear_line, in_process

REPORTS = Path(__file__).resolve().parents[2] / "reports"


@pytest.mark.parametrize("theirs", ["README.md", "studies/kernel-stack.png"])
def test_a_file_report_did_not_write_stops_it_before_any_work(invoke, tmp_path, theirs):
    out = tmp_path / "reports"
    (out / theirs).parent.mkdir(parents=True, exist_ok=True)
    (out / theirs).write_text("the user's own\n")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert_one_clear_line(in_process(invoke)("report", "--out", str(out), "--no-torchvision"),
                          f"--out {out}: cnnstat report did not write {theirs} there, so it does not replace it; "
                          "move it, or give another folder")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert (out / theirs).read_text() == "the user's own\n"


def test_the_files_it_listed_are_its_own_and_others_are_left_alone(tmp_path):
    (tmp_path / MANIFEST).write_text(MANIFEST_HEADER + "README.md\nzoo.csv\n")
    for name in ("README.md", "zoo.csv", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert files_of_earlier_reports(tmp_path, ["README.md", "zoo.csv", "zoo.md"]) == ["README.md", "zoo.csv"]
    with pytest.raises(CnnstatError, match="did not write notes.txt there"):
        files_of_earlier_reports(tmp_path, ["README.md", "notes.txt"])


def test_a_list_not_of_its_making_is_refused(tmp_path):
    (tmp_path / MANIFEST).write_text("README.md\n")
    with pytest.raises(CnnstatError, match="is not cnnstat report's list of its files"):
        files_of_earlier_reports(tmp_path, ["README.md"])


@pytest.mark.slow
def test_the_committed_reports_list_what_report_writes(fresh_reports):
    """reports/.cnnstat-report lists what a run writes (the fresh run leaves out torchvision's two files)."""
    fresh = (fresh_reports / MANIFEST).read_text().splitlines()
    committed = (REPORTS / MANIFEST).read_text().splitlines()
    assert fresh == [line for line in committed if not line.startswith("torchvision.")]
    assert sorted(str(p.relative_to(fresh_reports)) for p in fresh_reports.rglob("*.*") if p.is_file()
                  and p.name != MANIFEST) == fresh[1:]


@pytest.mark.parametrize("name, message", [("r" * 300, "File name too long"),
                                           ("loop", "Too many levels of symbolic links")])
def test_an_out_folder_no_file_system_takes(invoke, tmp_path, name, message):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert_one_clear_line(in_process(invoke)("report", "--out", str(tmp_path / name), "--no-torchvision"),
                          f"cannot create --out {tmp_path / name}: {message}")
    assert [p.name for p in tmp_path.iterdir()] == ["loop"]
