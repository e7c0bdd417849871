"""Write an hour-long corpus log (the back routine, five times over) for the review benchmark.

    python -m tests.review.hour_log DIR     # prints the log's path
    python -m benchmarks.offline --review-log PATH
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "host", ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from review.corpus import Scenario, write_log  # noqa: E402
from review.scenarios import back_stages  # noqa: E402


def main(argv=None) -> int:
    d = Path((argv or sys.argv[1:] or ["."])[0])
    d.mkdir(parents=True, exist_ok=True)
    stages = tuple(s for _ in range(5) for s in back_stages())
    path, _ = write_log(Scenario("hour_back_x5", stages, routine=None, seed=7), d)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
