"""Reports, cached on disk under DISK_CACHE_PATH."""

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(request):
    # Healthy only if the cache folder is writable by the user the app runs as.
    cache = Path(os.environ.get("DISK_CACHE_PATH", "/tmp/cache"))
    probe = cache / "health"
    probe.write_text("ok")
    return JSONResponse({"status": probe.read_text(), "uid": os.getuid()})


app = Starlette(routes=[Route("/health", health)])
