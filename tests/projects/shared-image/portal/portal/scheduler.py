import time


def main() -> None:
    while True:
        print("running scheduled jobs", flush=True)
        time.sleep(60)


if __name__ == "__main__":
    main()
