if __name__ == "__main__":  # worker processes import this module too, and need none of the CLI
    from etl.cli import main

    main()
