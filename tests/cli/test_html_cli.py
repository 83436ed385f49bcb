"""`-o FILE.html` through the commands (the pages themselves are opened in tests/render/test_html_browser.py)."""


def test_resnet152_page_stays_small(invoke, tmp_path):
    page = tmp_path / "resnet152.html"
    assert invoke("summary", "resnet152", "--device", "meta", "-o", str(page)).exit_code == 0
    assert page.stat().st_size < 2 * 2**20


def test_a_command_without_a_page_says_so(invoke, tmp_path):
    result = invoke("list", "--format", "html")
    assert result.exit_code == 2 and "writes no HTML page" in result.output
