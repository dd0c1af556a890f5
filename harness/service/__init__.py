"""`harness serve` and `harness worker`: grading over HTTP, on a job queue (Huey), with one SQLite store as the
source of truth. One module per job: settings (configuration), store (submissions, reports, keys), keys (API
tokens and roles), uploads (what an uploaded file must be), queue (Huey: SQLite on one machine, Redis across
machines), jobs (grading one stored submission, its report stored exactly once), callbacks (POSTing the report
where the operator allows), worker (the grading process), app (the FastAPI application), cli (the commands).

Nothing here is imported by `harness.cli` at start-up except `harness.service.cli`, which imports only click and
the settings: FastAPI, uvicorn, Huey and torch load inside the commands that need them.
"""
