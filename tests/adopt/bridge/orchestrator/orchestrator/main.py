from fastapi import FastAPI

app = FastAPI(title="orchestrator")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
