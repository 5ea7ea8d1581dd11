from starlette.testclient import TestClient

from orders.app import app


def test_health_uses_the_shared_package():
    assert TestClient(app).get("/health").json() == {"status": "ok", "total": 1200}
