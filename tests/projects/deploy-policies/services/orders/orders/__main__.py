"""The orders worker: polls for work until stopped."""

import time

print("orders: waiting for work", flush=True)
while True:
    time.sleep(60)
