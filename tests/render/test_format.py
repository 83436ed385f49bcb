"""Formatting keeps every figure's significance: no 0.00 for a non-zero value."""

from cnnstat.figures import figure
from cnnstat.frame.view import View
from cnnstat.render.table import fixed, formatted


def test_small_nonzero_keeps_two_significant_digits():
    assert fixed(0.0022, 2) == "0.0022"
    assert fixed(3.06e-5, 2) == "0.000031"
    assert fixed(0.0, 2) == "0"  # exact: never read as a rounded figure
    assert fixed(1234.5, 2) == "1,234.50"


def test_a_column_in_giga_keeps_its_small_models_visible():
    # A 100 K-MAC model beside a 50 G-MAC one: the column is in G, the small one still reads.
    headers, cells, _ = formatted(View([figure("macs")], [{"macs": 50_000_000_000}, {"macs": 100_000}]))
    assert headers == ["MACs (G)"]
    assert cells == [["50.00"], ["0.00010"]]


def test_percent_and_ratio_of_small_values():
    headers, cells, _ = formatted(View([figure("latency_pct"), figure("macs_ratio")],
                                        [{"latency_pct": 0.004, "macs_ratio": 0.00012}]))
    assert cells == [["0.0040%", "x0.00012"]]
