def test_imports():
    import web  # noqa: F401
