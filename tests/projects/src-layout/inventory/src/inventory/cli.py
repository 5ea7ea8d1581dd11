"""The `inventory` console script."""

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="inventory")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    uvicorn.run("inventory.app:app", host="0.0.0.0", port=args.port, reload=args.reload)
