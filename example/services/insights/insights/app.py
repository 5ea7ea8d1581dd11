import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(request):
    return JSONResponse({"status": "ok"})


async def config(request):
    # WORKER_COUNT and BATCH_SIZE differ per architecture (set in matrix.yaml).
    return JSONResponse({k: os.environ.get(k, "") for k in ("WORKER_COUNT", "BATCH_SIZE")})


app = Starlette(routes=[Route("/health", health), Route("/config", config)])
