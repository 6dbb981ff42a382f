"""The dashboard's agents page in headless Chromium: accounts of every tier, add and
remove a smart-tier agent, PnL curves; checked through the API."""

from __future__ import annotations

import httpx

from tests.serve.conftest import SMALL, serve
from tests.web.conftest import keep_screenshot


def test_agents_page_adds_and_removes_an_agent(browser, tmp_path):
    with serve("--db", "", "--jobs", str(tmp_path / "jobs")) as url, \
            httpx.Client(base_url=url, timeout=300) as api:
        sim = api.post("/simulations", json={"config": SMALL, "seed": 3}).json()["id"]
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/agents?sim={sim}")
        assert page.title() == "quantmarl: agents"
        rows = page.locator("#accounts tbody tr")
        rows.first.wait_for()
        assert rows.count() == 2 + 22 + 1  # smart, reactive, background
        page.get_by_label("slot").select_option("market_maker_0")
        page.get_by_label("controller").select_option("random")
        page.get_by_role("button", name="Add agent").click()
        page.wait_for_function("document.getElementById('status').textContent === "
                               "'market_maker_0 is random'")
        api.post(f"/simulations/{sim}/step", json={"steps": 15}).raise_for_status()
        page.get_by_role("button", name="Refresh").click()
        maker = page.locator("tr[data-account='1']")  # the market_maker_0 slot
        page.wait_for_function("document.querySelector('tr[data-account=\"1\"] "
                               "td:nth-child(12)').textContent !== '-'")
        assert "random" in maker.inner_text()
        assert page.locator("#curves .main-svg").count() >= 1
        page.screenshot(path=str(tmp_path / "agents.png"), full_page=True)
        page.get_by_role("button", name="remove market_maker_0").click()
        page.wait_for_function("document.getElementById('status').textContent"
                               ".startsWith('market_maker_0 removed')")
        smart = api.get(f"/simulations/{sim}/agents", params={"tier": "smart"}).json()
        assert [a["controller"] for a in smart["accounts"]] == ["hold", "hold"]
        page.get_by_label("tier", exact=True).select_option("reactive")
        page.wait_for_function("document.querySelectorAll('#accounts tbody tr').length === 22")
        assert not errors, errors
    keep_screenshot(tmp_path / "agents.png")
