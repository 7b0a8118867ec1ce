"""/status in headless Chromium (Debian's chromium + chromium-driver, driven by selenium) against
the app served by a real uvicorn on 127.0.0.1: the run table renders with a created run.

MINIHFT_SCREENSHOT=1 saves the page to docs/img/status-page.png."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from minihft.records import CommandType, ExecType, Side
from minihft.services.strategy_runner.control_api import ApiServer
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from test_control_api import Rig, make_rig

ROOT = Path(__file__).resolve().parents[2]
SHOT = ROOT / "docs" / "img" / "status-page.png"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _ensure_chromium() -> None:
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=False
        )
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.fail(f"{CHROMIUM} / {DRIVER} missing: apt-get install chromium chromium-driver")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    _ensure_chromium()
    profile = tempfile.mkdtemp(prefix="minihft-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1500,520",
    ):  # fmt: skip
        opts.add_argument(a)
    drv = webdriver.Chrome(options=opts, service=DriverService(executable_path=DRIVER))
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _populate(rig: Rig) -> str:
    rig.book()
    rid = str(rig.create()["id"])
    rig.create(strategy="pov", side="sell", qty=400, params={"rate": 0.2, "clip": 50})
    child = next(
        int(c["order_id"]) for c in rig.new_commands() if c["type"] == CommandType.SUBMIT_ORDER
    )
    rig.reports([(child, int(ExecType.ORDER_FILLED), int(Side.BUY), 1_000_000, 150, 100)])
    return rid


def test_status_page_renders_the_runs_in_chromium(browser: webdriver.Chrome) -> None:
    rig = make_rig()
    rid = _populate(rig)
    server = ApiServer(rig.client.app, "127.0.0.1", 0)  # type: ignore[arg-type]
    server.start()
    try:
        browser.get(f"http://127.0.0.1:{server.port}/status")
        rows = browser.find_elements(By.CSS_SELECTOR, "table#runs tbody tr")
        ids = [r.get_attribute("data-run") for r in rows]
        assert ids == ["main", rid, "run-2"], ids
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-run="{rid}"]')
        assert "running" in row.text and "150 / 1,000" in row.text
        bar = row.find_element(By.CSS_SELECTOR, ".bar span")
        assert bar.value_of_css_property("width") != "0px"  # 15 % drawn
        assert "kill switch off" in browser.find_element(By.ID, "kill-switch").text
        assert browser.find_elements(By.CSS_SELECTOR, "script") == []
        if os.environ.get("MINIHFT_SCREENSHOT"):
            SHOT.parent.mkdir(parents=True, exist_ok=True)
            assert browser.save_screenshot(str(SHOT))
    finally:
        server.stop()
