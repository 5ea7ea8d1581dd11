from starlette.testclient import TestClient

from reports.app import app


def test_health(tmp_path, monkeypatch):
    monkeypatch.setenv("DISK_CACHE_PATH", str(tmp_path))
    assert TestClient(app).get("/health").json()["status"] == "ok"
