"""How fast the minimality search's levels grow when nothing cuts them: the enumerator of
`rasp analyze --search-size` run without its cap of terms kept per size, level by level, with
the candidates tried, the distinct behaviours kept, the time and the memory; it stops before a
level whose projected memory (the last level's growth, again) would pass this machine's share.

    .venv/bin/python bench/search_growth.py [PROGRAM] [--vocab JSON] [--max-size K] [--time-limit S]

Default: majority over [0, 1, 2, 3] up to 5 operations (the program has 6). Not in `make bench`:
it runs for minutes and uses gigabytes on purpose.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time

import predictor.enumerate as enumerate_module
from predictor import search
from rasp.language.machine import usable_memory
from rasp.language.program import load_program


class Stop(Exception):
    """The next level would not fit."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("program", nargs="?", default="majority")
    parser.add_argument("--vocab", default="[0, 1, 2, 3]", help="a JSON list of tokens")
    parser.add_argument("--max-size", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=1800.0)
    args = parser.parse_args()
    program = load_program(args.program)
    enumerate_module.MAX_KEPT_PER_SIZE = sys.maxsize  # nothing cut: every behaviour is kept
    started, last = time.monotonic(), {"rss": 0.0, "behaviours": 0}
    print("| size | candidates (total) | behaviours (total) | seconds | peak memory (GB) |")
    print("|---|---|---|---|---|")

    def heard(message: str) -> None:
        done = re.match(r"search: size (\d+) done: ([\d,]+) candidates, ([\d,]+) behaviours", message)
        if not done:
            return
        size, candidates, behaviours = (int(g.replace(",", "")) for g in done.groups())
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
        print(f"| {size} | {candidates:,} | {behaviours:,} | {time.monotonic() - started:.1f} | {rss:.2f} |", flush=True)
        growth = behaviours / max(last["behaviours"], 1)
        projected = rss + (rss - last["rss"]) * growth  # the last level's memory, grown as its behaviours did
        if size < args.max_size and projected > usable_memory() / 1e9:
            raise Stop(f"size {size + 1} not tried: about {projected:.0f} GB at the last growth "
                       f"({growth:.0f}x), this machine's share is {usable_memory() / 1e9:.0f} GB")
        last.update(rss=rss, behaviours=behaviours)

    try:
        result = search.minimal(program, json.loads(args.vocab), max_size=args.max_size,
                                time_limit=args.time_limit, progress=heard)
        print(f"\nsearched up to size {result.searched_up_to}, complete: {result.complete}, {result.seconds:.1f} s")
    except Stop as stop:
        print(f"\n{stop}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
