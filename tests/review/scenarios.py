"""The corpus's scenarios: a good trainee on each routine and one fault at a time (plus heavy).

`fault` names the review part that must come first in the advice (None: no corrective
advice at all). Stages follow data/routines.json; durations and rates are the routine's.
"""
from __future__ import annotations

from dataclasses import replace

from .corpus import Scenario, Stage

EFF = 45.0    # effleurage where the routine gives no rate (the simulated trainee's default)


def demo_stages() -> list[Stage]:
    return [
        Stage("warm_up_light", "paraspinals", "effleurage", 30, "light", EFF),
        Stage("warm_up_sides", "sides", "effleurage", 15, "light", EFF),
        Stage("warm_up_medium", "paraspinals", "effleurage", 25, "medium", EFF),
        Stage("kneading_traps", "upper_trapezius", "kneading", 30, "firm", 70),
        Stage("shoulder_blades", "shoulder_blades", "thumb_circles", 20, "medium", 50),
        Stage("beside_spine", "paraspinals", "thumb_circles", 25, "firm", 50),
        Stage("static_point", "paraspinals", "hold", 12, "firm"),
        Stage("lower_back", "lower_back", "kneading", 20, "medium", 60),
        Stage("cool_down", "paraspinals", "effleurage", 20, "light", 38),
    ]


def back_stages() -> list[Stage]:
    return [
        Stage("warm_up_light", "paraspinals", "effleurage", 90, "light", EFF),
        Stage("warm_up_sides", "sides", "effleurage", 30, "light", EFF),
        Stage("warm_up_medium", "paraspinals", "effleurage", 60, "medium", EFF),
        Stage("kneading_traps", "upper_trapezius", "kneading", 120, "firm", 70),
        Stage("neck", "neck", "effleurage", 45, "light", 40),
        Stage("shoulder_blades", "shoulder_blades", "thumb_circles", 75, "medium", 50),
        Stage("beside_spine", "paraspinals", "thumb_circles", 90, "firm", 50),
        Stage("static_point", "paraspinals", "hold", 12, "firm"),
        Stage("lower_back", "lower_back", "kneading", 90, "medium", 60),
        Stage("sacrum", "sacrum", "effleurage", 45, "medium", 40),
        Stage("cool_down", "paraspinals", "effleurage", 60, "light", 38),
        Stage("grounding", "sacrum", "hold", 12, "light"),
    ]


def _map(stages, **by_id):
    return [replace(s, **by_id[s.id]) if s.id in by_id else s for s in stages]


def _all(stages, fn):
    return [fn(s) for s in stages]


def scenarios() -> list[Scenario]:
    D = demo_stages()
    out = [
        Scenario("good_demo", tuple(D), routine="demo"),
        Scenario("good_back", tuple(back_stages()), routine="back", seed=2),
        Scenario("rushed", tuple(_all(D, lambda s: replace(s, rate_per_min=s.rate_per_min * 2)
                                      if s.rate_per_min else s)), routine="demo", fault="pace"),
        Scenario("too_slow", tuple(_all(D, lambda s: replace(s, rate_per_min=s.rate_per_min * 0.5)
                                        if s.rate_per_min else s)), routine="demo", fault="pace"),
        Scenario("stop_start", tuple(_map(D, kneading_traps={"pauses": ((6, 3), (16, 3), (26, 3))},
                                          beside_spine={"pauses": ((4, 3), (12, 3))},
                                          lower_back={"pauses": ((5, 3), (13, 3))},
                                          warm_up_medium={"pauses": ((5, 3), (12, 3))})),
                 routine="demo", fault="rhythm"),
        Scenario("heavy", tuple(_map(D, warm_up_medium={"band": "firm"}, kneading_traps={"band": "too_much"},
                                     shoulder_blades={"band": "firm"}, beside_spine={"band": "too_much"},
                                     lower_back={"band": "firm"}, static_point={"band": "too_much"})),
                 routine="demo", fault="alerts"),
        Scenario("too_light", tuple(_all(D, lambda s: replace(s, band="feather" if s.technique != "hold" else "light"))), routine="demo",
                 fault="contact"),
        Scenario("tremor_novice", tuple(_all(D, lambda s: replace(s, tremor_n=0.3, spread=0.6, scale=0.75))),
                 routine="demo", fault="consistency"),
        Scenario("fatigue", tuple(_map(D, beside_spine={"decline": (1.0, 0.6), "tremor_n": 0.3},
                                       lower_back={"decline": (1.0, 0.6), "tremor_n": 0.3},
                                       static_point={"tremor_n": 0.3})),
                 routine="demo", fault="fatigue"),
        Scenario("no_warm_up", tuple([Stage("warm_up_light", "paraspinals", "effleurage", 10, "light", EFF),
                                      Stage("warm_up_light", "paraspinals", "effleurage", 20, "firm", EFF)]
                                     + D[1:]), routine="demo", fault="warm_up"),
        Scenario("no_cool_down", tuple(_map(D, cool_down={"band": "medium", "rate_per_min": EFF})),
                 routine="demo", fault="cool_down"),
        Scenario("hand_lifted", tuple(_map(D, kneading_traps={"lifts": ((6, 4), (16, 4), (26, 4))},
                                           beside_spine={"lifts": ((4, 3), (12, 3))},
                                           lower_back={"lifts": ((5, 3), (13, 3))},
                                           cool_down={"lifts": ((4, 2),)})),
                 routine="demo", fault="hands_on"),
        Scenario("hold_too_long", tuple(_map(D, static_point={"duration_s": 22})), routine="demo",
                 fault="holds"),
        Scenario("hold_too_short", tuple(D[:6] + [Stage("static_point", "paraspinals", "hold", 4, "firm"),
                                                  Stage("static_point", "paraspinals", "thumb_circles", 8, "firm", 60)]
                                         + D[7:]), routine="demo", fault="holds"),
        Scenario("tapotement", tuple(D[:5] + [Stage("tapotement_4", "upper_trapezius", "tapotement", 15, "medium", 240),
                                              Stage("tapotement_10", "shoulder_blades", "tapotement", 15, "medium", 600)]
                                     + D[5:]), routine="demo"),
        Scenario("tapotement_kidney", tuple(D[:5] + [Stage("tapotement_kidney", "kidney", "tapotement", 15, "light", 360)]
                                            + D[5:]), routine="demo", fault="rules"),
        Scenario("softer_followed", tuple(_map(D, kneading_traps={"soften_after": ((10.0, 0.55),)})),
                 routine="demo", marks=((80.0, "softer"),)),
        Scenario("softer_ignored", tuple(D), routine="demo", marks=((80.0, "softer"),), fault="receiver"),
        Scenario("saturated", tuple(_map(D, kneading_traps={"saturate": ((8.0, 10.0, "R_thumb"), (20.0, 21.5, "L_thumb"))})),
                 routine="demo", fault="alerts"),
        Scenario("sensor_fault", tuple(_map(D, warm_up_light={"faults": ((8.0, 18.0, "R_index", "open"),)},
                                            kneading_traps={"faults": ((5.0, 9.0, "L_ring", "short"),)})),
                 routine="demo"),
        Scenario("lazy_left_hand", tuple(_all(D, lambda s: replace(s, hand_scale=(("left", 0.45),)))),
                 routine="demo", fault="balance"),
        Scenario("right_glove", tuple(_all(D, lambda s: replace(s, hands=("right",)))), routine="demo",
                 hands=("right",), glove_id="corpus-right", seed=3),
        Scenario("left_glove", tuple(_all(D, lambda s: replace(s, hands=("left",)))), routine="demo",
                 hands=("left",), glove_id="corpus-left", seed=4),
        Scenario("region_drill", (Stage("drill", "upper_trapezius", "kneading", 60, "medium", 70),),
                 region_only="upper_trapezius"),
        Scenario("shoulders_only", (
            Stage("a", "upper_trapezius", "effleurage", 120, "light", EFF),
            Stage("b", "paraspinals", "effleurage", 70, "medium", EFF),
            Stage("c", "upper_trapezius", "kneading", 300, "firm", 70),
            Stage("d", "shoulder_blades", "thumb_circles", 60, "medium", 60),
            Stage("e", "upper_trapezius", "effleurage", 80, "light", 38)), fault="coverage", free=True),
    ]
    return out


SINGLE_FAULTS = ("rushed", "too_slow", "stop_start", "too_light", "tremor_novice", "fatigue", "no_warm_up",
                 "no_cool_down", "hand_lifted", "hold_too_long", "hold_too_short", "tapotement_kidney",
                 "softer_ignored", "saturated", "shoulders_only", "lazy_left_hand")
GOOD = ("good_demo", "good_back", "tapotement", "softer_followed", "sensor_fault", "right_glove", "left_glove")
