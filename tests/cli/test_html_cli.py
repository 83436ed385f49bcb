"""`-o FILE.html` through the commands (the pages themselves are opened in tests/render/test_html_browser.py)."""


def test_resnet152_page_stays_small(invoke, tmp_path):
    page = tmp_path / "resnet152.html"
    assert invoke("summary", "resnet152", "--device", "meta", "-o", str(page)).exit_code == 0
    assert page.stat().st_size < 2 * 2**20


def test_a_command_without_a_page_says_so(invoke, tmp_path):
    result = invoke("list", "--format", "html")
    assert result.exit_code == 2 and "writes no HTML page" in result.output


def test_the_page_tree_is_the_models(invoke, tmp_path):
    """Each row's full name, parent and leafness on the page (from the rows' depths) are the layer CSV's."""
    import csv
    import html
    import re

    page, table = tmp_path / "net.html", tmp_path / "net.csv"
    for args in (["-o", str(page)], ["--format", "csv", "-o", str(table)]):  # googlenet: branches, skipped aux heads
        assert invoke("summary", "googlenet", "--device", "meta", *args).exit_code == 0
    rows = list(csv.DictReader(table.open()))
    layers = re.search(r'<table[^>]* id="layers">.*?</table>', page.read_text(), re.S).group(0)  # not the sums by type
    shown = [dict(re.findall(r'data-([a-z]+)="([^"]*)"', tag)) for tag in re.findall(r"<tr data-index=[^>]*>", layers)]
    assert [html.unescape(row["name"]) for row in shown] == [row["name"] for row in rows]
    assert [row["parent"] for row in shown] == [row["parent"] for row in rows]
    assert [row.get("leaf") == "1" for row in shown] == [row["is_leaf"] == "True" for row in rows]
