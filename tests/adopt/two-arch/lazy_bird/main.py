import os

PLATFORM = os.environ.get("PLATFORM", "amd64")
