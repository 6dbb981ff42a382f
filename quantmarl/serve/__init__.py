"""The research service: live simulations over HTTP (FastAPI; the ``[serve]`` extra).

A thin shell: :mod:`~quantmarl.serve.simulation` owns a live market's state and its
slot controllers, :mod:`~quantmarl.serve.advance` its jitted stepping,
:mod:`~quantmarl.serve.views` its read-outs, :mod:`~quantmarl.serve.app` the routes,
:mod:`~quantmarl.serve.guard` errors and limits; results go to the run store
(:mod:`quantmarl.io`). ``python -m quantmarl.serve`` starts it.
"""
