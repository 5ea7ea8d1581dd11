from fastapi import FastAPI

api = FastAPI(title="portal api")


@api.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
