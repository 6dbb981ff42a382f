"""The calibration tool's pieces (``python -m experiments.calibrate``): the declared
search space, the real target series, the moment distance, the batched search and the
outputs."""
