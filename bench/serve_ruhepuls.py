"""`ruhepuls serve` for the benchmark: the real app from bot.web, wrapped in the timing layer."""

from __future__ import annotations

import uvicorn

from bench.timing import Timed
from bot.settings import Settings
from bot.web import create_app

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(
        Timed(create_app(settings)),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )
