"""``python -m quantmarl.train``: train PPO learners (:mod:`quantmarl.cli.train`)."""

if __name__ == "__main__":
    import sys

    from quantmarl.cli.train import main

    sys.exit(main())
