print("ledger: nothing to reconcile")
