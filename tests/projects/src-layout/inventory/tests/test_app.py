import os

from starlette.testclient import TestClient

from inventory.app import app


def test_stock():
    assert TestClient(app).get("/stock").json() == {"A-100": 12}


def test_runs_with_the_test_stage_environment():
    assert os.environ["ENVIRONMENT"] == "testing"
