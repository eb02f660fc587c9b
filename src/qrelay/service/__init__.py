"""The job service: a FastAPI app over SQLAlchemy (SQLite by default, PostgreSQL to scale out).

Build it with :func:`qrelay.service.app.create_app`. The pure rules (the per-circuit state
machine, costs, result checks) live in :mod:`qrelay.service.domain`; storage in
:mod:`qrelay.service.db`; the HTTP routes in :mod:`qrelay.service.api`. Nothing is imported
here, so ``import qrelay.service`` stays cheap.
"""
