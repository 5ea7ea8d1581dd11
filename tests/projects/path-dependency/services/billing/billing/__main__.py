"""The billing worker: prices invoices until stopped."""

import time

from pricing import with_tax

print(f"billing: invoice total {with_tax(2500)}", flush=True)
while True:
    time.sleep(60)
