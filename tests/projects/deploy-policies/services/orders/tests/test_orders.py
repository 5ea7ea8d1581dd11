def test_imports():
    import orders  # noqa: F401
