"""Benchmarks of the massage glove: every speed and memory figure next to a baseline measured in the same run.

    python -m benchmarks            # the whole table (a few minutes), results.md and results.json
    python -m benchmarks.<module>   # one measurement on its own

Modules: alert_delay, host_cost, cpu_share, offline, live_fps, firmware, memory. Each has
`run(...)` returning a dict of measured figures; __main__ turns them into the table.
See docs/BENCHMARKS.md for what each figure means and where each target comes from.
"""
