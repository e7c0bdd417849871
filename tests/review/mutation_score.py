"""Print the share of mutants killed, from mutmut's records in build/mutation/mutants/.

Killed = killed + timeout (mutmut's own status names); "no tests" (code no test reaches)
and "survived" count against the score."""
import json
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

stage = Path(sys.argv[1])
scope = sys.argv[2:]
counts, survivors = {}, []
for meta in sorted((stage / "mutants").rglob("*.meta")):
    data = json.loads(meta.read_text())
    for key, code in data.get("exit_code_by_key", {}).items():
        status = status_by_exit_code[code]
        counts[status] = counts.get(status, 0) + 1
        if status in ("survived", "no tests"):
            survivors.append(key)
total = sum(counts.values())
killed = counts.get("killed", 0) + counts.get("timeout", 0)
checked = total - counts.get("not checked", 0)
(stage / "survivors.txt").write_text("\n".join(survivors) + "\n")
print(json.dumps({"scope": scope, "mutants": total, "checked": checked, "by_status": counts,
                  "killed_pct_of_checked": round(100.0 * killed / checked, 1) if checked else None}))
