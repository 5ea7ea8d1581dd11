from starlette.testclient import TestClient

from ledger.app import app


def test_balance():
    assert TestClient(app).get("/balance").json() == {"balance": 1042}
