"""A bare FastAPI route (no middleware, no auth) answering the body in ``GTV_FLOOR_BODY``:
``uvicorn tools.benchmarks.floors.fastapi_floor:app``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

BODY: Any = json.loads(Path(os.environ["GTV_FLOOR_BODY"]).read_text())

# FastAPI's native OpenTelemetry off, as in the streaming service.
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None,
              telemetry={"tracing": False, "metrics": False, "logs": False})


@app.get("/floor")
async def floor() -> Any:
    return BODY
