from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(request):
    return JSONResponse({"status": "ok"})


async def balance(request):
    return JSONResponse({"balance": 1042})


app = Starlette(routes=[Route("/health", health), Route("/balance", balance)])
