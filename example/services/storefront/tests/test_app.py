from storefront.app import app


def test_routes() -> None:
    assert {r.path for r in app.routes} == {"/", "/healthz"}
