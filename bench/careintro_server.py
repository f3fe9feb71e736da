"""`careintro serve`, unchanged except that it binds 127.0.0.1 instead of every interface.

Usage: python bench/careintro_server.py --port N [--no-worker]  (settings from the environment)

Earlier runs measured proposed fixes here as opt-in experiments (`BENCH_WHAT_IF`); the
ones that helped are now in `bot/` (see bench/README.md, "Before and after").
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from bot import runtime
    from bot.__main__ import main

    # The benchmarks keep all traffic on loopback; everything else is the production path.
    runtime.HttpServer.__init__.__kwdefaults__["host"] = "127.0.0.1"
    sys.exit(main(["serve", *sys.argv[1:]]))
