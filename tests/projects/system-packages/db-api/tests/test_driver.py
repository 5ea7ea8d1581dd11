import psycopg2


def test_libpq_loads():
    assert psycopg2.extensions.libpq_version() > 0
