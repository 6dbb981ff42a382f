"""The dashboard's files: the pages in :mod:`quantmarl.web` (plain HTML, CSS and JS that
call the public API only) and the plotly.js bundle of the installed ``plotly`` package
(served from the package, not copied into the repository)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from quantmarl.serve.simulation import SimulationError

WEB = Path(__file__).resolve().parents[1] / "web"
#: paths anyone may load without the token: they hold no data
PAGES = {"/": "index.html", "/agents": "agents.html", "/experiments": "experiments.html",
         "/analysis": "analysis.html"}
PUBLIC = (*PAGES, "/web/", "/vendor/")


def plotly_bundle() -> Path:
    """``plotly.min.js`` of the installed ``plotly`` package."""
    try:
        import plotly
    except ImportError:
        raise SimulationError("plotly", "the dashboard needs the plotly package (pip install "
                              "'quantmarl[serve]')", status=404) from None
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def web_routes(app: FastAPI) -> None:
    app.mount("/web", StaticFiles(directory=WEB), name="web")

    for path, name in PAGES.items():
        app.add_api_route(path, lambda name=name: FileResponse(WEB / name), methods=["GET"],
                          include_in_schema=False)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_bundle(), media_type="text/javascript")
