"""Command-line entry points; each ``main(argv)`` calls :func:`quantmarl.runtime.configure`
before any computation.

* :mod:`quantmarl.cli.train`: ``python -m quantmarl.train`` (PPO training, checkpoints);
* :mod:`quantmarl.cli.evaluate`: ``python -m quantmarl.evaluate`` (checkpoint evaluation);
* :mod:`quantmarl.cli.demo`: ``python -m quantmarl.demo`` (order-book replay, live market).

``quantmarl/train.py``, ``evaluate.py`` and ``demo.py`` only forward these commands here.
"""
