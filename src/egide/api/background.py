"""The server's background work, as lifespan hooks: unless ``egide serve --no-worker``, the
webhook delivery loop and the portfolio job runner run on threads of the server's process
(`egide.services.background.start_background`), so the embedded default needs no second process.
The job runner fails, when it starts, the runs a previous process left running."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the startup and shutdown hooks when the app was made with ``in_process_worker``.
    In production the server key must be set, worker or not (webhooks are registered here):
    `UnsafeEnvironment` now, before the server starts."""
    from egide.settings import server_key

    server_key(app.state.settings)
    if not app.state.in_process_worker:
        return

    def start(app: FastAPI) -> None:
        from egide.services.background import start_background

        settings = app.state.settings
        app.state.stop_background = start_background(
            app.state.uow_factory, app.state.product, scheduler=settings.dask_scheduler
        )

    def stop(app: FastAPI) -> None:
        stopper = getattr(app.state, "stop_background", None)
        if stopper is not None:
            stopper()

    app.state.on_startup.append(start)
    app.state.on_shutdown.append(stop)  # run in reverse order: before the engine is disposed
