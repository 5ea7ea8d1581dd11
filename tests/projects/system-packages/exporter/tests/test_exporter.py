import shutil


def test_jq_is_installed_for_the_tests_too():
    assert shutil.which("jq")
