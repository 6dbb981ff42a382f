"""The service's job routes (:mod:`quantmarl.serve.jobs`).

=====================================  ================================================
``POST /jobs``                         start a training run or an experiment (201)
``GET  /jobs``                         this server's jobs, then earlier ones from the
                                       run store
``GET  /jobs/{id}``                    status, progress (its last output line)
``POST /jobs/{id}/cancel``             stop it
``GET  /jobs/{id}/report``             ``report.json`` of an experiment, the final
                                       metrics of a training run (409 while running)
``GET  /jobs/{id}/files[/{name}]``     its files; one file (paths inside the job only)
=====================================  ================================================
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse

from quantmarl.serve import jobs as job_files
from quantmarl.serve.jobs import Jobs, describe
from quantmarl.serve.schemas import JobCreate, config_mapping
from quantmarl.serve.simulation import SimulationError


def job_routes(app: FastAPI, jobs: Jobs) -> None:
    @app.post("/jobs", status_code=201)
    def start(body: JobCreate) -> dict:
        config = config_mapping(body.config, body.config_yaml)
        return describe(jobs, jobs.start(body.kind, body.quick, body.preset, body.seeds,
                                         config))

    @app.get("/jobs")
    def list_all() -> list[dict]:
        live = [describe(jobs, j) for j in jobs.all()]
        ids = {j["id"] for j in live}
        past = [] if jobs.store is None else [
            {"id": j["id"], "kind": j["kind"], "status": j["status"], "returncode": None,
             "progress": "", "directory": j["directory"], "command": None}
            for j in jobs.store.jobs() if j["id"] not in ids]
        return past + live

    @app.get("/jobs/{job_id}")
    def get(job_id: str) -> dict:
        return describe(jobs, jobs.get(job_id))

    @app.post("/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict:
        job = jobs.cancel(job_id)
        job.done.wait(timeout=30)
        return describe(jobs, job)

    @app.get("/jobs/{job_id}/report")
    def get_report(job_id: str) -> dict:
        job = jobs.get(job_id)
        if job.status == "running":
            raise SimulationError("job_id", f"job {job_id} is still running", status=409)
        found = job_files.report(job)
        if found is not None:
            return found
        raise SimulationError("job_id", f"job {job_id} ({job.status}) wrote no report",
                              status=404)

    @app.get("/jobs/{job_id}/files")
    def files(job_id: str) -> list[str]:
        return jobs.files(jobs.get(job_id))

    @app.get("/jobs/{job_id}/files/{name:path}")
    def file(job_id: str, name: str) -> FileResponse:
        return FileResponse(jobs.file(jobs.get(job_id), name))
