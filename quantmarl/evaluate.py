"""``python -m quantmarl.evaluate``: evaluate a checkpoint (:mod:`quantmarl.cli.evaluate`)."""

if __name__ == "__main__":
    import sys

    from quantmarl.cli.evaluate import main

    sys.exit(main())
