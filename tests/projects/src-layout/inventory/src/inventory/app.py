import os
import pwd

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(request):
    # The runtime user has a name: the image's /etc/passwd knows it.
    return JSONResponse({"status": "ok", "user": pwd.getpwuid(os.getuid()).pw_name,
                         "log_level": os.environ.get("LOG_LEVEL")})


async def stock(request):
    return JSONResponse({"A-100": 12})


app = Starlette(routes=[Route("/health", health), Route("/stock", stock)])
