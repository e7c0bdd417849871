"""Region profiles: what pressure each body region allows, for a skill level and a receiver.

Data (all checked on load, docs/SIGNAL.md section 5):

* ``data/bands.json``: band edges (N) and contact threshold per sensor class;
* ``data/regions.json``: the regions (highest band, extra rules, display name and key),
  skill levels, receiver sensitivities, techniques (hold times), and the engineering
  defaults for filtering, bands and rules, each with its source;
* optionally a learned profile (``massage-glove/profile`` JSON, from `learn_profile`):
  band edges per region and sensor class taken from an instructor's demonstration, used
  instead of the class defaults for the regions it covers.

`ProfileSet.resolve(region, skill, sensitivity, channels)` gives the `Profile` the pipeline
uses: per-channel edges in newtons and the highest allowed band.
"""
from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import DataFileError
from ..portable import fsr
from ..samples import Channel
from .bands import BANDS, N_EDGES, TOO_MUCH
from .datafile import Node, check_format, read_json, write_json
from .plausibility import check_edges, edge_bounds_n, edges_plausible

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BANDS_PATH = DATA_DIR / "bands.json"
REGIONS_PATH = DATA_DIR / "regions.json"

BANDS_FORMAT = "massage-glove/bands"
REGIONS_FORMAT = "massage-glove/regions"
PROFILE_FORMAT = "massage-glove/profile"

REGION_IDS = ("neck", "spine", "kidney", "lower_back", "ribs", "sacrum", "sides",
              "paraspinals", "shoulder_blades", "upper_trapezius")
SKILLS = ("novice", "trained")
SENSITIVITIES = ("normal", "sensitive")
SEVERITIES = ("info", "warning", "danger")
RULE_IDS = ("too_much", "over_limit", "over_limit_hand", "static_pressure", "percussion",
            "too_deep_too_fast", "hold_too_long", "sensor_saturated", "sensor_broken")
_ALLOWED_BANDS = BANDS[:TOO_MUCH]   # a region or skill may allow up to firm, never too much


# ------------------------------------------------------------------------------------------
# Records
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassBands:
    """Default band edges of one sensor class."""
    sensor_class: str
    edges_n: tuple[float, float, float]
    contact_n: float
    description: str = ""


@dataclass(frozen=True)
class Region:
    """One body region and its rules (regions.json `regions.<id>`)."""
    id: str
    name: str              # display name, e.g. "Neck and head"
    text: str              # in a sentence, e.g. "the neck"
    key: str               # keyboard key that selects it
    max_band: int          # highest allowed band for a trained giver
    hold_max_s: float | None     # longest hold of steady pressure (None: no hold rule)
    static_pressure: bool        # False: no static pressure at all (spine)
    static_max_s: float | None   # how long steady contact may last where static is not allowed
    percussion: bool             # False: no percussion (kidney area)
    note: str = ""
    seeds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skill:
    id: str
    name: str
    cap_band: int
    source: str = ""


@dataclass(frozen=True)
class Technique:
    id: str
    name: str
    hold_max_s: float | None
    moving: bool
    source: str = ""


@dataclass(frozen=True)
class RuleTiming:
    """Debounce and re-alert policy of one rule (regions.json `rules.<id>`)."""
    id: str
    severity: str
    persist_ms: float   # the condition must hold this long before an episode starts (>= 1 sample)
    clear_ms: float     # re-arm: the episode ends once the condition has been gone this long
    holdoff_s: float    # while a prompted episode lasts, it is repeated at most this often
    source: str = ""
    misses: int = 1     # the prompt comes on this many episodes (1: every episode)


@dataclass(frozen=True)
class Settings:
    """Engineering defaults for the chain (regions.json `settings`; units in the names)."""
    filter_cutoff_hz: float = 25.0
    filter_order: int = 2
    filter_kind: str = "butter"
    spike_median: bool = True
    hysteresis_fraction: float = 0.1
    dwell_up_ms: float = 5.0
    dwell_down_ms: float = 100.0
    warmup_s: float = 180.0
    contact_gap_s: float = 2.0
    steady_window_s: float = 1.0
    steady_tolerance: float = 0.3
    static_min_fraction: float = 0.25
    impact_rise_ms: float = 30.0
    impact_rise_fraction: float = 0.25
    impact_refractory_ms: float = 60.0
    percussion_window_s: float = 1.0
    percussion_min_impacts: int = 3
    hand_min_sensors: int = 2
    open_fraction: float = 0.5
    short_margin_counts: int = 16
    tare_max_fraction: float = 0.5
    region_settle_s: float = 0.5
    learn_min_region_s: float = 5.0
    learn_min_firm_s: float = 2.0
    fast_alert_samples: int = 2
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


# Checks for each setting: (kind, min, max). kind: "num", "int", "bool" or a tuple of choices.
_SETTING_CHECKS = {
    "filter_cutoff_hz": ("num", 0.5, 200.0),
    "filter_order": ("int", 1, 8),
    "filter_kind": (("butter", "bessel"), None, None),
    "spike_median": ("bool", None, None),
    "hysteresis_fraction": ("num", 0.0, 0.5),
    "dwell_up_ms": ("num", 0.0, 1000.0),
    "dwell_down_ms": ("num", 0.0, 5000.0),
    "warmup_s": ("num", 0.0, 3600.0),
    "contact_gap_s": ("num", 0.0, 60.0),
    "steady_window_s": ("num", 0.05, 30.0),
    "steady_tolerance": ("num", 0.0, 1.0),
    "static_min_fraction": ("num", 0.0, 1.0),
    "impact_rise_ms": ("num", 1.0, 500.0),
    "impact_rise_fraction": ("num", 0.01, 10.0),
    "impact_refractory_ms": ("num", 0.0, 1000.0),
    "percussion_window_s": ("num", 0.1, 10.0),
    "percussion_min_impacts": ("int", 1, 100),
    "hand_min_sensors": ("int", 1, 16),
    "open_fraction": ("num", 0.0, 1.0),
    "short_margin_counts": ("int", 0, 1000),
    "tare_max_fraction": ("num", 0.0, 10.0),
    "region_settle_s": ("num", 0.0, 10.0),
    "learn_min_region_s": ("num", 0.0, 600.0),
    "learn_min_firm_s": ("num", 0.0, 600.0),
    "fast_alert_samples": ("int", 0, 50),
}


@dataclass(frozen=True)
class LearnedEdges:
    """Edges learned for one region and sensor class (see learn_profile)."""
    edges_n: tuple[float, float, float]
    target_n: tuple[float, float]
    n_samples: int
    percentiles_n: Mapping[str, float]


@dataclass(frozen=True)
class LearnedProfile:
    """Band edges per region and sensor class learned from a demonstration."""
    name: str
    date: str
    source: str
    limit_percentile: float
    target_percentiles: tuple[float, float]
    regions: Mapping[str, Mapping[str, LearnedEdges]]
    file: str = field(default="", compare=False)

    def to_json(self) -> dict:
        return {
            "format": PROFILE_FORMAT, "version": 1, "name": self.name, "date": self.date,
            "source": self.source, "units": "N",
            "method": {
                "limit_percentile": self.limit_percentile,
                "target_percentiles": list(self.target_percentiles),
                "note": (f"Per region and sensor class, the top edge of the region's allowed "
                         f"band is the P{self.limit_percentile:g} of the demonstration's contact "
                         f"force; the other edges keep the default ratios. target_n is "
                         f"[P{self.target_percentiles[0]:g}, P{self.target_percentiles[1]:g}].")},
            "regions": {r: {"classes": {c: {"edges_n": list(e.edges_n), "target_n": list(e.target_n),
                                            "n_samples": e.n_samples,
                                            "percentiles_n": dict(e.percentiles_n)}
                                        for c, e in cls.items()}}
                        for r, cls in self.regions.items()}}


@dataclass(frozen=True)
class Profile:
    """What the chain checks for one region, skill and receiver (from ProfileSet.resolve).

    edges_n: (n_channels, 3) newtons, already scaled by the receiver's sensitivity;
    allowed_band: highest band allowed here (region's band capped by skill);
    contact_n: (n_channels,) newtons, below this a sensor is not touching.
    """
    region: Region | None
    skill: str
    sensitivity: float
    allowed_band: int
    edges_n: np.ndarray
    contact_n: np.ndarray
    sensor_classes: tuple[str, ...]
    edges_source: tuple[str, ...]

    @property
    def region_id(self) -> str | None:
        return self.region.id if self.region else None

    @property
    def region_text(self) -> str:
        return self.region.text if self.region else "the back"

    @property
    def limit_n(self) -> np.ndarray:
        """Per channel: the force (N) where the allowed band ends (over the limit from here)."""
        return self.edges_n[:, self.allowed_band]

    @property
    def too_much_n(self) -> np.ndarray:
        """Per channel: the force (N) where too much starts."""
        return self.edges_n[:, N_EDGES - 1]


# ------------------------------------------------------------------------------------------
# Loading and checking
# ------------------------------------------------------------------------------------------

def load_bands(path: str | Path = BANDS_PATH) -> dict[str, ClassBands]:
    """Band edges per sensor class from bands.json (DataFileError on any problem)."""
    root = read_json(path)
    check_format(root, BANDS_FORMAT, (1,))
    root["units"].str(choices=("N",))
    names = root["bands"].list()
    if names != list(BANDS):
        raise root["bands"].error("exactly " + str(list(BANDS)), repr(names))
    out = {}
    for cls, node in root["classes"].items():
        edges = node["edges_n"].numbers(length=N_EDGES, min_exclusive=0, increasing=True)
        check_edges(node["edges_n"], cls, edges)
        contact = node.get("contact_n", 0.125 * edges[0]).number(min_exclusive=0)
        if contact >= edges[0]:
            raise node["contact_n"].error(f"a force below the first edge ({edges[0]} N)", repr(contact))
        out[cls] = ClassBands(cls, tuple(edges), contact, node.get("description", "").str(nonempty=False))
    if not out:
        raise root["classes"].error("at least one sensor class")
    return out


def _band(node: Node, allowed=_ALLOWED_BANDS) -> int:
    return BANDS.index(node.str(choices=allowed))


def _opt_seconds(node: Node) -> float | None:
    return None if node.value is None else node.number(min_exclusive=0)


def load_regions(path: str | Path = REGIONS_PATH):
    """Regions, skills, sensitivities, techniques, settings and rule timings from regions.json."""
    root = read_json(path)
    check_format(root, REGIONS_FORMAT, (1,))
    regions: dict[str, Region] = {}
    keys: dict[str, str] = {}
    rnode = root["regions"]
    for rid, n in rnode.items():
        key = n["key"].str()
        if len(key) != 1 or not key.isprintable() or key.isspace():
            raise n["key"].error("a single printable character")
        if key in keys:
            raise n["key"].error(f"a key not already used (region {keys[key]} has it)", repr(key))
        keys[key] = rid
        static = n["static_pressure"].bool()
        static_max = _opt_seconds(n.get("static_max_s"))
        if not static and static_max is None:
            raise n["static_max_s"].error("a number of seconds (static_pressure is false)", "null")
        regions[rid] = Region(
            rid, n["name"].str(), n["text"].str(), key, _band(n["max_band"]),
            _opt_seconds(n.get("hold_max_s")), static, static_max, n["percussion"].bool(),
            n.get("note", "").str(nonempty=False),
            tuple(e.str() for e in n.get("seeds", []).elements()))
    for rid in REGION_IDS:
        if rid not in regions:
            raise DataFileError(root.file, f"regions.{rid}", "this region to be defined", "nothing")
    skills = {}
    for sid, n in root["skills"].items():
        skills[sid] = Skill(sid, n["name"].str(), _band(n["cap_band"]), n.get("source", "").str(nonempty=False))
    for sid in SKILLS:
        if sid not in skills:
            raise DataFileError(root.file, f"skills.{sid}", "this skill level to be defined", "nothing")
    sens = {}
    for sid, n in root["sensitivities"].items():
        sens[sid] = n["factor"].number(min_exclusive=0, max=2.0)
    for sid in SENSITIVITIES:
        if sid not in sens:
            raise DataFileError(root.file, f"sensitivities.{sid}", "this sensitivity to be defined", "nothing")
    techniques = {}
    for tid, n in root["techniques"].items():
        techniques[tid] = Technique(tid, n["name"].str(), _opt_seconds(n.get("hold_max_s")),
                                    n["moving"].bool(), n.get("source", "").str(nonempty=False))
    kw, sources = {}, {}
    snode = root["settings"]
    for name, (kind, lo, hi) in _SETTING_CHECKS.items():
        s = snode[name]
        v = s["value"]
        if kind == "num":
            kw[name] = v.number(min=lo, max=hi)
        elif kind == "int":
            kw[name] = v.int(min=lo, max=hi)
        elif kind == "bool":
            kw[name] = v.bool()
        else:
            kw[name] = v.str(choices=kind)
        sources[name] = s["source"].str()
    settings = Settings(**kw, sources=sources)
    rules = {}
    for rid in RULE_IDS:
        n = root["rules"][rid]
        rules[rid] = RuleTiming(rid, n["severity"].str(choices=SEVERITIES),
                                n["persist_ms"].number(min=0), n["clear_ms"].number(min=0),
                                n["holdoff_s"].number(min_exclusive=0), n["source"].str(),
                                n.get("misses", 1).int(min=1, max=100))
    return regions, skills, sens, techniques, settings, rules


def load_profile(path: str | Path) -> LearnedProfile:
    """Read a learned profile file (format massage-glove/profile v1), checked."""
    root = read_json(path)
    check_format(root, PROFILE_FORMAT, (1,))
    m = root["method"]
    lp = m["limit_percentile"].number(min=50, max=100)
    tp = m["target_percentiles"].numbers(length=2, min=0, max=100, increasing=True)
    regions = {}
    for rid, rn in root["regions"].items():
        classes = {}
        for cls, cn in rn["classes"].items():
            if cls not in fsr.NOMINAL:
                raise cn.error("a known sensor class (" + ", ".join(fsr.NOMINAL) + ")", repr(cls))
            pct = {k: v.number(min=0) for k, v in cn.get("percentiles_n", {}).items()}
            edges = cn["edges_n"].numbers(length=N_EDGES, min_exclusive=0, increasing=True)
            check_edges(cn["edges_n"], cls, edges)
            classes[cls] = LearnedEdges(
                tuple(edges),
                tuple(cn["target_n"].numbers(length=2, min=0)),
                cn["n_samples"].int(min=1), pct)
        regions[rid] = classes
    return LearnedProfile(root.get("name", "").str(nonempty=False), root["date"].str(),
                          root.get("source", "").str(nonempty=False), lp, tuple(tp), regions, root.file)


def save_profile(profile: LearnedProfile, path: str | Path) -> Path:
    """Write a learned profile as JSON (format massage-glove/profile v1)."""
    path = Path(path)
    write_json(path, profile.to_json())
    return path


# ------------------------------------------------------------------------------------------
# The profile set
# ------------------------------------------------------------------------------------------

class ProfileSet:
    """Everything profiles are resolved from: class bands, regions, skills, learned edges."""

    def __init__(self, classes: dict[str, ClassBands], regions: dict[str, Region],
                 skills: dict[str, Skill], sensitivities: dict[str, float],
                 techniques: dict[str, Technique], settings: Settings,
                 rules: dict[str, RuleTiming], learned: LearnedProfile | None = None,
                 sources: tuple[str, ...] = ()):
        self.classes = classes
        self.regions = regions
        self.skills = skills
        self.sensitivities = sensitivities
        self.techniques = techniques
        self.settings = settings
        self.rules = rules
        self.learned = learned
        self.sources = sources
        if learned is not None:
            self._check_learned(learned)

    @classmethod
    def load(cls, regions_path: str | Path = REGIONS_PATH, bands_path: str | Path = BANDS_PATH,
             learned_path: str | Path | None = None) -> "ProfileSet":
        """Load and check the data files (defaults: the package's data/)."""
        classes = load_bands(bands_path)
        regions, skills, sens, techniques, settings, rules = load_regions(regions_path)
        learned = load_profile(learned_path) if learned_path is not None else None
        srcs = (str(bands_path), str(regions_path)) + ((str(learned_path),) if learned_path else ())
        return cls(classes, regions, skills, sens, techniques, settings, rules, learned, srcs)

    def with_learned(self, learned: LearnedProfile | None) -> "ProfileSet":
        """The same set with learned edges (or none) in place of the defaults they cover."""
        return ProfileSet(self.classes, self.regions, self.skills, self.sensitivities,
                          self.techniques, self.settings, self.rules, learned, self.sources)

    def _check_learned(self, learned: LearnedProfile) -> None:
        for rid in learned.regions:
            if rid not in self.regions:
                raise DataFileError(learned.file or "learned profile", f"regions.{rid}",
                                    "a region defined in regions.json (" + ", ".join(self.regions) + ")",
                                    repr(rid))

    def region_for_key(self, key: str) -> str | None:
        for r in self.regions.values():
            if r.key == key:
                return r.id
        return None

    def sensitivity_factor(self, sensitivity: str | float) -> float:
        if isinstance(sensitivity, str):
            if sensitivity not in self.sensitivities:
                raise ValueError(f"unknown sensitivity {sensitivity!r}: use one of "
                                 + ", ".join(self.sensitivities) + " or a factor")
            return self.sensitivities[sensitivity]
        f = float(sensitivity)
        if not 0 < f <= 2:
            raise ValueError(f"sensitivity factor {f} is outside (0, 2]")
        return f

    def resolve(self, region: str | None, skill: str, sensitivity: str | float,
                channels: Sequence[Channel]) -> Profile:
        """The Profile for a region (None: no region chosen yet), skill and receiver."""
        if skill not in self.skills:
            raise ValueError(f"unknown skill {skill!r}: use one of " + ", ".join(self.skills))
        reg = None
        if region is not None:
            if region not in self.regions:
                raise ValueError(f"unknown region {region!r}: use one of " + ", ".join(self.regions))
            reg = self.regions[region]
        factor = self.sensitivity_factor(sensitivity)
        cap = self.skills[skill].cap_band
        allowed = min(reg.max_band, cap) if reg else cap
        learned = self.learned.regions.get(region, {}) if (self.learned and region) else {}
        edges, contact, srcs = [], [], []
        for c in channels:
            cb = self.classes.get(c.sensor_class)
            if cb is None:
                raise DataFileError(self.sources[0] if self.sources else "bands",
                                    f"classes.{c.sensor_class}",
                                    f"band edges for sensor class {c.sensor_class!r} (channel {c.name})",
                                    "nothing")
            le = learned.get(c.sensor_class)
            if le is not None:
                edges.append(le.edges_n)
                srcs.append(f"learned ({self.learned.name or self.learned.file})")
            else:
                edges.append(cb.edges_n)
                srcs.append("default")
            contact.append(cb.contact_n)
        e = np.array(edges, np.float64).reshape(len(channels), N_EDGES) * factor
        return Profile(reg, skill, factor, allowed, e, np.array(contact, np.float64),
                       tuple(c.sensor_class for c in channels), tuple(srcs))


_DEFAULT: ProfileSet | None = None


def default_profile_set() -> ProfileSet:
    """The package's own data files, loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ProfileSet.load()
    return _DEFAULT


# ------------------------------------------------------------------------------------------
# Learning targets from a demonstration
# ------------------------------------------------------------------------------------------

REPORT_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)


def check_demonstration(forces_n, region_labels, channels: Sequence[Channel],
                        learned: "LearnedProfile", profile_set: ProfileSet | None = None, *,
                        rate_hz: float) -> list[str]:
    """What makes a recording not a demonstration to learn band edges from ([] if none).

    * a region worked (any sensor in contact) less than settings.learn_min_region_s;
    * a region that allows firm (its own highest band, trained) without
      settings.learn_min_firm_s of firm work (by the default edges): its edges would make
      ordinary medium work the limit;
    * learned edges not ascending, or a learned too-much edge under the fingertip's
      light|medium edge (DOMAIN.md 2: 4 N): lighter than a light fingertip touch cannot be
      far too much.
    """
    ps = profile_set or default_profile_set()
    s = ps.settings
    f = np.asarray(forces_n, np.float64)
    labels = np.asarray([("" if r is None else str(r)) for r in region_labels], dtype=object)
    contact = np.array([ps.classes[c.sensor_class].contact_n for c in channels])
    firm_edge = np.array([ps.classes[c.sensor_class].edges_n[1] for c in channels])
    floor = min(cb.edges_n[0] for cb in ps.classes.values())
    problems = []
    for rid in sorted({x for x in labels if x}):
        if rid not in ps.regions:
            continue
        rows = labels == rid
        fr = np.nan_to_num(f[rows], nan=0.0)
        on_s = float((fr >= contact).any(axis=1).sum()) / rate_hz
        if on_s < s.learn_min_region_s:
            problems.append(f"{rid}: only {on_s:.1f} s of contact (a demonstration works each "
                            f"region at least {s.learn_min_region_s:g} s)")
            continue
        if ps.regions[rid].max_band == BANDS.index("firm"):
            firm_s = float((fr >= firm_edge).any(axis=1).sum()) / rate_hz
            if firm_s < s.learn_min_firm_s:
                problems.append(f"{rid} allows firm pressure but the recording has {firm_s:.1f} s "
                                f"of firm work there (a demonstration shows at least "
                                f"{s.learn_min_firm_s:g} s)")
    for rid, classes in learned.regions.items():
        for cls, e in classes.items():
            edges = np.asarray(e.edges_n)
            if np.any(np.diff(edges) <= 0):
                problems.append(f"{rid}/{cls}: learned edges {', '.join(f'{x:.1f}' for x in edges)} N "
                                f"are not in ascending order")
            elif edges[-1] < floor:
                problems.append(f"{rid}/{cls}: the learned too-much edge {edges[-1]:.1f} N is under "
                                f"a light fingertip touch ({floor:g} N)")
            elif not edges_plausible(cls, edges):
                bounds = ", ".join(f"{lo:g}-{hi:g}" for _, lo, hi in edge_bounds_n(cls))
                problems.append(f"{rid}/{cls}: learned edges {', '.join(f'{x:.1f}' for x in edges)} N "
                                f"are outside the plausible bounds ({bounds} N, data/limits.json)")
    return problems


def learn_profile(forces_n, region_labels, channels: Sequence[Channel],
                  profile_set: ProfileSet | None = None, *, rate_hz: float,
                  limit_percentile: float = 95.0,
                  target_percentiles: tuple[float, float] = (25.0, 75.0),
                  min_contact_s: float = 2.0, name: str = "", date: str | None = None,
                  source: str = "") -> LearnedProfile:
    """Band edges per region and sensor class from an instructor's demonstration.

    forces_n: (n, n_channels) smoothed force in newtons (the pipeline's `filtered`), NaN
    where a sensor was faulted; region_labels: (n,) region id of each sample (None or ""
    where no region was marked); channels: the glove's channel table.

    For each region and sensor class, the samples where a sensor of that class touched
    (force >= the class's contact_n) are pooled over both hands. Mapping (docs/SIGNAL.md 6):

    * P`limit_percentile` (default P95) of that force becomes the top edge of the region's
      allowed band (trained level): the instructor stayed under it 95 % of the time, so
      pressing harder than that is over this region's limit;
    * the other two edges keep the default ratios between edges of the class (the default
      edges are scaled by P95 / default top edge), so the bands keep their shape;
    * the too-much edge is kept at most 95 % of the sensor's range (fsr.NOMINAL f_max_n),
      so a saturated sensor still counts as too much;
    * P`target_percentiles` (default P25-P75) are stored as `target_n`, the range a
      trainee aims for (for scoring; not a band edge).

    A class with less than `min_contact_s` of contact in a region is left out (its default
    edges stay in force there).
    """
    ps = profile_set or default_profile_set()
    f = np.asarray(forces_n, np.float64)
    labels = np.asarray([("" if r is None else str(r)) for r in region_labels], dtype=object)
    if f.ndim != 2 or f.shape[1] != len(channels) or labels.shape[0] != f.shape[0]:
        raise ValueError(f"forces {f.shape}, {labels.shape[0]} labels and {len(channels)} channels do not match")
    classes = sorted({c.sensor_class for c in channels})
    min_n = max(1, int(round(min_contact_s * rate_hz)))
    out: dict[str, dict[str, LearnedEdges]] = {}
    for rid in sorted({x for x in labels if x}):
        if rid not in ps.regions:
            raise ValueError(f"unknown region label {rid!r}")
        top = ps.regions[rid].max_band
        rows = labels == rid
        learned = {}
        for cls in classes:
            cb = ps.classes[cls]
            cols = [j for j, c in enumerate(channels) if c.sensor_class == cls]
            v = f[np.ix_(rows, cols)].ravel()
            v = v[np.isfinite(v) & (v >= cb.contact_n)]
            if v.size < min_n:
                log.info("learn: %s/%s has %d contact samples (< %d): defaults kept", rid, cls, v.size, min_n)
                continue
            p_lim = float(np.percentile(v, limit_percentile))
            edges = np.array(cb.edges_n) * (p_lim / cb.edges_n[top])
            f_cap = 0.95 * fsr.NOMINAL[cls]["f_max_n"]
            if edges[-1] > f_cap:
                edges[-1] = f_cap
                if not edges[-1] > edges[-2]:
                    log.warning("learn: %s/%s demonstration reaches the sensor's range; defaults kept", rid, cls)
                    continue
            pct = {f"{q:g}": float(x) for q, x in zip(REPORT_PERCENTILES, np.percentile(v, REPORT_PERCENTILES))}
            pct[f"{limit_percentile:g}"] = p_lim
            tgt = np.percentile(v, target_percentiles)
            learned[cls] = LearnedEdges(tuple(float(x) for x in edges), (float(tgt[0]), float(tgt[1])),
                                        int(v.size), pct)
        if learned:
            out[rid] = learned
    return LearnedProfile(name, date or _dt.date.today().isoformat(),
                          source or "learned from a demonstration recording", float(limit_percentile),
                          (float(target_percentiles[0]), float(target_percentiles[1])), out)
