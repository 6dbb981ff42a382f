"""``python -m quantmarl.serve [--host 127.0.0.1] [--port 8000] [--db runs.sqlite]
[--jobs DIR] [--models DIR] [--token TOKEN]``: the research service on uvicorn (OpenAPI
docs at ``/docs``).

It binds 127.0.0.1 by default. Binding any other address needs a token
(``--token`` or the ``QUANTMARL_TOKEN`` environment variable); every request must
then carry ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from quantmarl import runtime
from quantmarl.serve.app import create_app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m quantmarl.serve",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", default="runs.sqlite",
                        help="run store file (SQLite; created if missing; '' for none)")
    parser.add_argument("--jobs", default="jobs",
                        help="directory of the background jobs' outputs (default ./jobs)")
    parser.add_argument("--models", default=None,
                        help="directory of trained checkpoints that slots may run "
                             "(paths outside it are refused)")
    parser.add_argument("--token", default=os.environ.get("QUANTMARL_TOKEN"),
                        help="bearer token every request must carry (default: "
                             "$QUANTMARL_TOKEN); required off loopback")
    parser.add_argument("--no-restore", action="store_true",
                        help="do not bring back the store's simulations")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be in [1, 65535], got {args.port}")
    if args.host not in LOOPBACK and not args.token:
        parser.error(f"--host {args.host} is not a loopback address: set --token (or "
                     "QUANTMARL_TOKEN) so that every request must carry it")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runtime.configure()
    app = create_app(args.db or None, jobs=args.jobs, models=args.models,
                     token=args.token or None, restore=not args.no_restore)
    print(f"quantmarl service on http://{args.host}:{args.port} (docs: /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
