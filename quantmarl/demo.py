"""``python -m quantmarl.demo``: book and live-market demo (:mod:`quantmarl.cli.demo`)."""

if __name__ == "__main__":
    import sys

    from quantmarl.cli.demo import main

    sys.exit(main())
