def test_imports():
    import checkout_fn  # noqa: F401
