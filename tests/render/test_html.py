"""HTML pages without a browser: what they hold and refuse (the browser tests open them)."""

import re
import shutil

import pytest

from cnnstat.figures import Figure
from cnnstat.frame.view import Facts, View
from cnnstat.render.html import figures_page
from tests.render import browser

HOSTILE = '<img src=x onerror="alert(1)">'


def test_names_are_text_and_nothing_is_fetched():
    table = View([Figure("model", "Model"), Figure("macs", "MACs", "si")],
                 [{"model": HOSTILE, "macs": 2_000_000}, {"model": "b", "macs": 1_000_000, "macs_ratio": 0.5}],
                 Facts(title=[f"{HOSTILE} vs b"], notes=[HOSTILE]))
    page = figures_page(table, "cnnstat compare")
    assert HOSTILE not in page and "&lt;img src=x" in page
    assert "default-src 'none'" in page  # the page's own policy forbids any request
    assert not re.search(r"""(src|href)=["']?(https?:)?//|@import|url\(""", page)
    assert 'data-v="2000000"' in page and "2.00M" in page and "(x0.500)" in page


def test_no_browser_means_a_skip_that_says_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium chromium-driver"):
        browser.start_browser()
