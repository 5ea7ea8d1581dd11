from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from pricing import with_tax


async def health(request):
    return JSONResponse({"status": "ok", "total": with_tax(1000)})


app = Starlette(routes=[Route("/health", health)])
