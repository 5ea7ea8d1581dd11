from fastapi import FastAPI

app = FastAPI(title="catalog")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/products")
def products() -> list[dict[str, str]]:
    return [{"sku": "A-100", "name": "Kettle"}]
