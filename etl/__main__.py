"""`python -m etl` and the `vpcflow` script. Worker processes, spawned, import the main module again
(this one, or the script that imports `main` from it): they must not pay for the whole CLI, which
they never use (0.5 s of imports each)."""


def main() -> None:
    from etl.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
