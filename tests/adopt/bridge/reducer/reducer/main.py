from fastapi import FastAPI

app = FastAPI(title="reducer")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
