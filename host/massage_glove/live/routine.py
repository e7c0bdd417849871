"""Guided routines: a timed plan of stages that sets the region and tells the trainee what to do.

Routines live in data/routines.json (editable). A Routine is pure: given the session time
it says which stage is current, how long is left, and what comes next; the live session
applies the stage's region to the signal chain.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..signal.datafile import Node, check_format, read_json
from .state import StageView

ROUTINES_PATH = resources.files("massage_glove") / "data" / "routines.json"
TECHNIQUES = ("effleurage", "kneading", "thumb_circles", "tapotement", "hold", "rest")
BANDS = ("light", "medium", "firm", "too_much")


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    region: str
    technique: str
    duration_s: float
    band: str
    instruction: str
    rate_per_min: float | None = None

    def to_plan(self) -> dict:
        """The stage as a step of a simulated trainee's plan (sim/scripts.py)."""
        d = {"stage": self.id, "region": self.region, "technique": self.technique,
             "duration_s": self.duration_s, "band": self.band}
        if self.rate_per_min is not None:
            d["rate_per_min"] = self.rate_per_min
        return d


@dataclass(frozen=True)
class Routine:
    key: str
    name: str
    warm_up_s: float
    stages: tuple[Stage, ...]

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.stages)

    def starts(self) -> list[float]:
        out, t = [], 0.0
        for s in self.stages:
            out.append(t)
            t += s.duration_s
        return out

    def index_at(self, t_s: float) -> int | None:
        """The stage running at routine time t_s (None before 0 or after the end)."""
        if t_s < 0:
            return None
        for i, (t0, s) in enumerate(zip(self.starts(), self.stages)):
            if t_s < t0 + s.duration_s:
                return i
        return None

    def view(self, t_s: float) -> StageView | None:
        i = self.index_at(t_s)
        if i is None:
            return None
        s = self.stages[i]
        left = self.starts()[i] + s.duration_s - t_s
        nxt = self.stages[i + 1].name if i + 1 < len(self.stages) else ""
        return StageView(self.name, i, len(self.stages), s.name, s.instruction, left, nxt)

    def plan(self) -> list[dict]:
        return [s.to_plan() for s in self.stages]


def load_routines(path: str | Path | None = None, regions: set[str] | None = None) -> dict[str, Routine]:
    """Read and check a routines file. Raises DataFileError naming file and field."""
    root = read_json(path or ROUTINES_PATH)
    check_format(root, "massage-glove/routines", (1,))
    out = {}
    for key, r in root["routines"].items():
        stages = []
        for st in r["stages"].elements(min_length=1):
            region = st["region"].str(choices=tuple(sorted(regions)) if regions else None)
            rate = st.get("rate_per_min")
            stages.append(Stage(
                id=st["id"].str(), name=st["name"].str(), region=region,
                technique=st["technique"].str(choices=TECHNIQUES),
                duration_s=st["duration_s"].number(min=1), band=st["band"].str(choices=BANDS),
                instruction=st["instruction"].str(),
                rate_per_min=rate.number(min=1) if rate is not None and rate.value is not None else None))
        out[key] = Routine(key, r["name"].str(), r["warm_up_s"].number(min=0), tuple(stages))
    return out


def load_routine(name: str, path: str | Path | None = None, regions: set[str] | None = None) -> Routine:
    routines = load_routines(path, regions)
    if name not in routines:
        from ..errors import GloveError
        raise GloveError(f"no routine {name!r}: choose one of {', '.join(sorted(routines))}")
    return routines[name]
