"""The signal chain: ADC counts -> force -> smoothed force -> pressure band -> alerts.

Stages are pure array-in/array-out functions or streaming objects that keep their state;
`Pipeline` strings them together for one glove. See docs/SIGNAL.md.
"""
from .bands import (BANDS, FIRM, LIGHT, MEDIUM, TOO_MUCH, UNKNOWN, BandClassifier, classify_n,
                    hand_band)
from .calibration import (FAULT_BROKEN, FAULT_OPEN, FAULT_SATURATED, FAULT_SHORT, Calibration,
                          ChannelCalibration, FitError, ForceConverter, PchipCurve, PowerLaw,
                          fit_calibration, fit_channel, fit_pchip, fit_power_law, load_for_glove,
                          pressure_kpa, settled_reading_counts)
from .filters import LiveFilter, LowPass, SpikeMedian, filter_zero_phase, live_delay_ms
from .pipeline import LIMIT_OFF, Pipeline, ReferencePipeline, Result
from .profiles import (LearnedProfile, Profile, ProfileSet, Settings, default_profile_set,
                       learn_profile, load_profile, save_profile)
from .rules import Alert, Latch, RuleEngine

__all__ = [
    "BANDS", "LIGHT", "MEDIUM", "FIRM", "TOO_MUCH", "UNKNOWN", "BandClassifier", "classify_n",
    "hand_band", "FAULT_SATURATED", "FAULT_SHORT", "FAULT_OPEN", "FAULT_BROKEN", "Calibration",
    "ChannelCalibration", "FitError", "ForceConverter", "PchipCurve", "PowerLaw",
    "fit_calibration", "settled_reading_counts", "fit_channel",
    "fit_pchip", "fit_power_law", "load_for_glove", "pressure_kpa", "LiveFilter", "LowPass",
    "SpikeMedian", "filter_zero_phase", "live_delay_ms", "LIMIT_OFF", "Pipeline", "ReferencePipeline", "Result",
    "LearnedProfile", "Profile", "ProfileSet", "Settings", "default_profile_set",
    "learn_profile", "load_profile", "save_profile", "Alert", "Latch", "RuleEngine",
]
