"""The dashboard's analysis page in headless Chromium: the market's stylized facts
beside the S&P 500's, return density and ACF plots, market quality over a window."""

from __future__ import annotations

import httpx

from tests.serve.conftest import SMALL, serve
from tests.web.conftest import keep_screenshot


def test_analysis_page_compares_with_the_sp500(browser, tmp_path):
    config = {**SMALL, "market": {**SMALL["market"], "episode_length": 400}}
    with serve("--db", "", "--jobs", str(tmp_path / "jobs")) as url, \
            httpx.Client(base_url=url, timeout=300) as api:
        sim = api.post("/simulations", json={"config": config, "seed": 2}).json()["id"]
        api.post(f"/simulations/{sim}/step", json={"steps": 300}).raise_for_status()
        facts = api.get(f"/simulations/{sim}/facts", params={"window": 250}).json()
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/analysis?sim={sim}")
        assert page.title() == "quantmarl: analysis"
        page.get_by_label("window", exact=True).fill("250")
        page.get_by_role("button", name="Analyse").click()
        page.wait_for_function("document.getElementById('status').textContent === "
                               "'analysis over 250 steps'")
        rows = page.locator("#facts tbody tr")
        assert rows.count() == len(facts["moments"]) >= 5
        kurtosis = next(m for m in facts["moments"] if "kurt" in m["name"])
        assert f"{kurtosis['real']:.4f}" in page.locator("#facts").inner_text()
        assert page.locator("#density .scatterlayer .trace").count() == 3
        assert page.locator("#acf .main-svg").count() >= 1
        page.screenshot(path=str(tmp_path / "analysis.png"), full_page=True)
        too_short = api.get(f"/simulations/{sim}/facts", params={"window": 50})
        assert too_short.status_code == 409 and too_short.json()["field"] == "window"
        assert not errors, errors
    keep_screenshot(tmp_path / "analysis.png")
