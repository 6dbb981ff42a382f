"""The dashboard's market view in a real headless Chromium (Debian's ``chromium``,
driven by Playwright): create a market from YAML, set the breaker, step, inject a flash
crash and see the halt marker, then check the same market through the API."""

from __future__ import annotations

import httpx
import yaml

from tests.serve.conftest import SMALL, serve
from tests.web.conftest import keep_screenshot


def test_market_view_creates_steps_and_marks_a_halt(browser, tmp_path):
    with serve("--db", str(tmp_path / "runs.sqlite"), "--jobs", str(tmp_path / "jobs")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        assert page.title() == "quantmarl: market"
        page.get_by_label("config YAML").fill(yaml.safe_dump(SMALL))
        page.get_by_label("seed").fill("7")
        page.get_by_role("button", name="Create market").click()
        page.wait_for_function("document.getElementById('sim-select').options.length === 1")
        page.get_by_label("breaker threshold").fill("0.05")
        page.get_by_label("breaker halt steps").fill("2")
        page.get_by_role("button", name="Set breaker").click()
        page.wait_for_function("document.getElementById('status').textContent === "
                               "'breaker set'")
        page.get_by_label("steps", exact=True).fill("10")
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function("document.getElementById('step-now').textContent"
                               ".startsWith('10 /')")
        page.get_by_label("event magnitude").fill("0.2")
        page.get_by_label("event duration").fill("1")
        page.get_by_role("button", name="Inject").click()
        page.wait_for_function("document.getElementById('status').textContent"
                               ".startsWith('flash_crash')")
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_selector("#halt-list li.halt", timeout=30_000)
        page.wait_for_function("document.getElementById('step-now').textContent"
                               ".startsWith('20 /')")
        assert page.locator("#chart .main-svg").count() >= 1  # plotly drew the chart
        assert page.locator("#ladder tbody tr").count() >= 2  # both sides of the book
        page.screenshot(path=str(tmp_path / "market.png"), full_page=True)
        sim_id = page.locator("#sim-select").input_value()
        with httpx.Client(base_url=url) as api:
            state = api.get(f"/simulations/{sim_id}").json()
            bars = api.get(f"/simulations/{sim_id}", params={"window": 20}).json()
        assert state["step"] == 20
        halted_text = page.locator("#halt-list").inner_text()
        assert "halted at step" in halted_text
        assert len(bars["assets"][0]["bars"]) == 20
        assert not errors, errors
    assert (tmp_path / "market.png").stat().st_size > 10_000
    keep_screenshot(tmp_path / "market.png")
