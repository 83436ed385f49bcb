"""reports/ is committed; this fails when its static figures are stale (regenerate with `cnnstat report`)."""

from pathlib import Path

import pandas as pd
import pytest

from cnnstat.figures import keys

REPORTS = Path(__file__).resolve().parents[1] / "reports"
MACHINE_DEPENDENT = set(keys("measured")) | {"device", "device_name", "threads", "torch_version"}


def _static(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column but those a measurement adds (and their ratios)."""
    keep = [key for key in frame.columns if key.removesuffix("_ratio") not in MACHINE_DEPENDENT]
    return frame[keep]


@pytest.mark.slow
def test_committed_reports_are_current(fresh_reports):
    fresh = sorted(p.relative_to(fresh_reports) for p in fresh_reports.rglob("*.csv"))
    committed = sorted(p.relative_to(REPORTS) for p in REPORTS.rglob("*.csv"))
    assert fresh == committed, "reports/ lists other files than `cnnstat report` writes: regenerate it"
    for path in fresh:
        pd.testing.assert_frame_equal(_static(pd.read_csv(REPORTS / path)), _static(pd.read_csv(fresh_reports / path)),
                                      obj=f"reports/{path} (stale: run `cnnstat report`)")
    assert (REPORTS / "README.md").read_text() == (fresh_reports / "README.md").read_text()
