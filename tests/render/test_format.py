"""Formatting keeps every figure's significance: no 0.00 for a non-zero value."""

from cnnstat.figures import figure
from cnnstat.frame.view import View
from cnnstat.render.table import fixed, formatted
from cnnstat.render.units import latency_pair


def test_small_nonzero_keeps_two_significant_digits():
    assert fixed(0.0022, 2) == "0.0022"
    assert fixed(3.06e-5, 2) == "0.000031"
    assert fixed(0.0, 2) == "0"  # exact: never read as a rounded figure
    assert fixed(1234.5, 2) == "1,234.50"


def test_each_cell_carries_its_own_prefix():
    # A 100 K-MAC model beside a 50 G-MAC one, as fvcore prints them: three significant digits.
    rows = [{"macs": 50_000_000_000, "activation_bytes": 3 * 2**20}, {"macs": 100_000, "activation_bytes": 40_000},
            {"macs": 160, "activation_bytes": 512}, {"macs": 999_999, "activation_bytes": 0}]
    headers, cells, _ = formatted(View([figure("macs"), figure("activation_bytes")], rows))
    assert headers == ["MACs", "Act. mem"]
    assert cells == [["50.0G", "3.00 MiB"], ["100K", "39.1 KiB"], ["160", "512 B"], ["1.00M", "0 B"]]


def test_latency_reads_in_significant_digits_and_shares_in_one_decimal():
    rows = [{"latency_ms": 20_123.4, "latency_pct": 0.004}, {"latency_ms": 0.003124, "latency_pct": 12.25},
            {"latency_ms": 45.12, "latency_pct": 0.0}]
    headers, cells, _ = formatted(View([figure("latency_ms"), figure("latency_pct")], rows))
    assert headers == ["Latency (ms)", "% time"]
    assert cells == [["20,123", "<0.1%"], ["0.00312", "12.2%"], ["45.1", "0.0%"]]


def test_a_median_keeps_the_decimals_its_spread_allows():
    assert latency_pair(20_123.456, 1_812.3) == ("20,123", "1,812")
    assert latency_pair(4.53218, 0.02134) == ("4.5322", "0.0213")
    assert latency_pair(4.53218, 0.0) == ("4.53", "0")


def test_ratios_of_small_values_keep_their_digits():
    headers, cells, _ = formatted(View([figure("macs_ratio")], [{"macs_ratio": 0.00012}]))
    assert cells == [["x0.00012"]]
