print("scheduler")
