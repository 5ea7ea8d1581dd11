"""Reports service: a Starlette app with a health endpoint."""

import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(request):
    return JSONResponse({"status": "ok", "workers": os.environ.get("WORKER_COUNT")})


app = Starlette(routes=[Route("/health", health)])
