from starlette.testclient import TestClient

from reports import app


def test_health():
    response = TestClient(app).get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"
