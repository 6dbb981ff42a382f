"""The dashboard's experiments page in headless Chromium: start a small training job
from YAML, follow it to the end, see its learning curves and figure."""

from __future__ import annotations

import httpx
import yaml

from tests.serve.conftest import serve
from tests.serve.test_jobs import TINY_TRAIN
from tests.web.conftest import keep_screenshot


def test_experiments_page_runs_a_training_job(browser, tmp_path):
    with serve("--db", str(tmp_path / "runs.sqlite"), "--jobs", str(tmp_path / "jobs")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/experiments")
        assert page.title() == "quantmarl: experiments"
        page.get_by_label("job kind").select_option("train")
        page.get_by_label("seeds").fill("1")
        page.get_by_label("job config YAML").fill(yaml.safe_dump(
            {**TINY_TRAIN, "iterations": 6}))
        page.get_by_role("button", name="Start job").click()
        page.wait_for_selector("#jobs tbody tr")
        job_id = page.locator("#jobs tbody tr").first.get_attribute("data-job")
        page.wait_for_function(
            "document.querySelector('#jobs tbody tr td:nth-child(3)').textContent === 'done'",
            timeout=300_000)
        page.get_by_role("button", name=f"open job {job_id}").click()
        page.wait_for_selector("#figures img[alt='learning_curve.png']")
        page.wait_for_function("document.querySelector('#figures img').naturalWidth > 0")
        page.wait_for_selector("#curves .scatterlayer .trace")  # a learning curve drawn
        page.screenshot(path=str(tmp_path / "experiments.png"), full_page=True)
        job = httpx.get(f"{url}/jobs/{job_id}").json()
        assert job["status"] == "done" and job["kind"] == "train"
        assert not errors, errors
    keep_screenshot(tmp_path / "experiments.png")
