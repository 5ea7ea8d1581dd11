"""The web service's entry point: serves until stopped."""

import time

print("web: serving", flush=True)
while True:
    time.sleep(60)
