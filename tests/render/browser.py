"""Headless Chromium, driven by Selenium through Debian's chromedriver, for the HTML page tests:
what the page logged to its console and every request it made."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO

ARTIFACTS = Path(os.environ.get("CNNSTAT_TEST_ARTIFACTS", REPO / "test-artifacts"))
"""Where the page tests leave their screenshots (a person looks at them)."""
INSTALL_HINT = ("install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver, "
                "as .ci/run does) and selenium (the test extra)")


class Browser:
    def __init__(self, driver):
        self.driver = driver

    def open(self, path: Path) -> None:
        self._drain()
        self.driver.get(path.resolve().as_uri())

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def requests(self) -> list[str]:
        """Every URL the page asked for since it was opened, its own included."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def run(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.driver.save_screenshot(str(path))
        return path

    def _drain(self) -> None:
        self.driver.get_log("browser")
        self.driver.get_log("performance")


def start_browser() -> Browser:
    """One headless Chromium, or a skip that says what to install."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip(f"selenium is not installed: {INSTALL_HINT}")
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip(f"no headless browser here (chromium or chromedriver not found): {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return Browser(webdriver.Chrome(service=Service(chromedriver), options=options))
