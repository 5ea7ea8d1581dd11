def test_imports():
    import cli_tool  # noqa: F401
