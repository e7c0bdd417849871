# Draws hardware/schematic.svg and hardware/schematic.png (schemdraw on matplotlib) from firmware/glove/config.py.
#
#     python hardware/schematic.py
#
# Every pin number and channel in the drawing comes from the firmware config through
# hardware/design.py, so the schematic cannot disagree with the firmware. The SVG keeps
# its text as text and carries a fingerprint of the config facts it shows (in its
# <dc:description>), which tests/test_hardware.py compares with the current config.
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import design  # noqa: E402

SVG_PATH = design.HARDWARE_DIR / "schematic.svg"
PNG_PATH = design.HARDWARE_DIR / "schematic.png"


def connections(cfg):
    """The board-level nets the drawing shows: [(Pico side, other side)].

    Plain data, so tests can check it without schemdraw; the drawing uses the same labels.
    """
    out = []
    for i, p in enumerate(cfg.MUX_SELECT_PINS):
        out.append((design.pin_text(p), "74HC4067 S%d (chip pin %d)"
                    % (i, design.MUX_CHIP_PIN["S%d" % i])))
    out.append(("%s = ADC%d" % (design.pin_text(cfg.ADC_PIN), design.PICO_ADC_CHANNEL[cfg.ADC_PIN]),
                "74HC4067 SIG (chip pin %d)" % design.MUX_CHIP_PIN["COM"]))
    out.append(("3V3(OUT) (pin %d)" % design.PICO_POWER_PIN["3V3(OUT)"],
                "74HC4067 VCC (chip pin %d), 3V3_SNS" % design.MUX_CHIP_PIN["VCC"]))
    out.append(("AGND (pin %d)" % design.PICO_POWER_PIN["AGND"],
                "74HC4067 GND (chip pin %d) and EN (chip pin %d)"
                % (design.MUX_CHIP_PIN["GND"], design.MUX_CHIP_PIN["EN"])))
    for hand in cfg.HANDS:
        out.append((design.pin_text(cfg.BUZZER_PINS[hand]), "%s motor driver (NPN base via %s)"
                    % (hand, design.ohms(design.MOTOR_BASE_R_OHM))))
    out.append((design.pin_text(cfg.BUTTON_PIN), "mark button to GND"))
    out.append((design.led_text(cfg), "status LED"))
    out.append(("VSYS (pin %d)" % design.PICO_POWER_PIN["VSYS"], "motor supply"))
    return out


def fingerprint(cfg):
    """Hash of everything the schematic shows, stored in the SVG."""
    return design.fingerprint("schematic", design.config_facts(cfg), connections(cfg),
                              design.FILTER_R_OHM, design.FILTER_C_F, design.MOTOR_BASE_R_OHM,
                              design.MOTOR_SERIES_R_OHM)


def _draw(cfg, ax):
    import schemdraw
    import schemdraw.elements as elm

    ch0 = design.channel_rows(cfg)[0]
    sc0 = cfg.SENSOR_CLASSES[ch0["class"]]
    sel = ["GP%d" % p for p in cfg.MUX_SELECT_PINS]
    hands = list(cfg.HANDS)

    d = schemdraw.Drawing(canvas=ax, show=False)
    d.config(unit=2.2, fontsize=10)

    # Raspberry Pi Pico: the pins this board uses, in the order the wires leave it.
    ppin = design.PICO_GPIO_PIN
    rpins = []
    for i, p in enumerate(cfg.MUX_SELECT_PINS):
        rpins.append(elm.IcPin(name="GP%d" % p, pin=str(ppin[p]), side="R", anchorname="S%d" % i))
    rpins.append(elm.IcPin(name="GP%d/ADC%d" % (cfg.ADC_PIN, design.PICO_ADC_CHANNEL[cfg.ADC_PIN]),
                           pin=str(ppin[cfg.ADC_PIN]), side="R", anchorname="ADC"))
    rpins.append(elm.IcPin(name="3V3(OUT)", pin=str(design.PICO_POWER_PIN["3V3(OUT)"]),
                           side="R", anchorname="V33"))
    rpins.append(elm.IcPin(name="AGND", pin=str(design.PICO_POWER_PIN["AGND"]), side="R",
                           anchorname="AGND"))
    for hand in hands:
        p = cfg.BUZZER_PINS[hand]
        rpins.append(elm.IcPin(name="GP%d" % p, pin=str(ppin[p]), side="R",
                               anchorname="BZ_" + hand))
    rpins.append(elm.IcPin(name="GP%d" % cfg.BUTTON_PIN, pin=str(ppin[cfg.BUTTON_PIN]), side="R",
                           anchorname="BTN"))
    rpins.append(elm.IcPin(name="VSYS", pin=str(design.PICO_POWER_PIN["VSYS"]), side="R",
                           anchorname="VSYS"))
    rpins.append(elm.IcPin(name="GND", pin=str(design.PICO_POWER_PIN["GND"]), side="R",
                           anchorname="GND"))
    led_name = ("GP%d LED" % design.PICO_ONBOARD_LED_GPIO if cfg.LED_PIN == "LED"
                else "GP%d" % cfg.LED_PIN)
    bpins = [elm.IcPin(name=led_name, side="B", anchorname="LED",
                       pin="" if cfg.LED_PIN == "LED" else str(ppin[cfg.LED_PIN]))]
    # schemdraw lists side pins bottom to top; reverse so the first pin is on top.
    pico = (elm.Ic(pins=list(reversed(rpins)) + bpins, size=(6.5, 14.5), plblsize=10, lsize=13)
            .side("R", spacing=1.1, pad=0.6, leadlen=0.6)
            .side("B", pad=0.6, leadlen=0.6)
            .label("Raspberry Pi Pico\n(RP2040, %s)" % cfg.BOARD, "center", ofst=(-1.2, 0),
                   fontsize=12)
            .at((0, 0)))
    d.add(pico)

    # 74HC4067 multiplexer, select and analogue pins aligned with the Pico's.
    mpins = [elm.IcPin(name="S%d" % i, pin=str(design.MUX_CHIP_PIN["S%d" % i]), side="L",
                       anchorname="S%d" % i) for i in range(4)]
    mpins += [elm.IcPin(name="SIG", pin=str(design.MUX_CHIP_PIN["COM"]), side="L", anchorname="SIG"),
              elm.IcPin(name="VCC", pin=str(design.MUX_CHIP_PIN["VCC"]), side="L", anchorname="VCC"),
              elm.IcPin(name="GND", pin=str(design.MUX_CHIP_PIN["GND"]), side="L", anchorname="GND"),
              elm.IcPin(name="/EN", pin=str(design.MUX_CHIP_PIN["EN"]), side="R", anchorname="EN",
                        pos=0.1)]
    mpins += [elm.IcPin(name="C%d" % ch0["mux_input"], pin=str(design.mux_chip_pin(ch0["mux_input"])),
                        side="R", anchorname="C0", pos=0.85)]
    mux = (elm.Ic(pins=list(reversed(mpins[:7])) + mpins[7:], size=(5.0, 8.2), plblsize=10, lsize=13)
           .side("L", spacing=1.1, pad=0.6, leadlen=0.6)
           .side("R", leadlen=0.6)
           .label("74HC4067\n16:1 analogue mux\nVCC = 3V3\n\nC1-C15: same\nchannel circuit,\nsee table",
                  "center", fontsize=10)
           .anchor("S0").at((pico.S0[0] + 7.0, pico.S0[1])))
    d.add(mux)
    for i in range(4):
        d.add(elm.Line().at(pico.absanchors["S%d" % i]).to(mux.absanchors["S%d" % i])
              .label("%s -> S%d" % (sel[i], i), "top", fontsize=9))
    d.add(elm.Line().at(pico.ADC).to(mux.SIG).label("ADC0 <- SIG", "top", fontsize=9))
    d.add(elm.Line().at(pico.V33).to(mux.VCC).label("3V3", "top", fontsize=9))
    d.add(elm.Line().at(pico.AGND).to(mux.GND).label("AGND", "top", fontsize=9))
    xc = mux.VCC[0] - 1.6
    d.add(elm.Dot().at((xc, mux.VCC[1])))
    d.add(elm.Capacitor().at((xc, mux.VCC[1])).to((xc, mux.GND[1]))
          .label("100 nF", "bottom", fontsize=9))
    d.add(elm.Dot())
    d.add(elm.Line().at(mux.EN).right().length(0.6))
    d.add(elm.Ground().label("AGND", "right", fontsize=9))

    # One channel drawn in full: filter, divider, cable, FSR with its bleed resistor.
    d.add(elm.Line().at(mux.C0).right().length(1.0))
    b = d.add(elm.Dot().label("B", "top", fontsize=9))
    d.add(elm.Capacitor().at(b.center).down().length(2.2)
          .label("C_filter\n%d nF" % round(design.FILTER_C_F * 1e9), "bottom", fontsize=9))
    d.add(elm.Ground().label("AGND", "right", fontsize=9))
    d.add(elm.Resistor().at(b.center).right().length(3.0)
          .label("R_filter\n%s" % design.ohms(design.FILTER_R_OHM), "top", fontsize=9))
    a = d.add(elm.Dot().label("A", "top", fontsize=9))
    d.add(elm.Resistor().at(a.center).down().length(2.2)
          .label("R_divider\n%s" % design.ohms(sc0["r_divider_ohm"]), "bottom", ofst=0.35,
                 fontsize=9))
    d.add(elm.Ground().label("AGND", "right", fontsize=9))
    d.add(elm.Line().at(a.center).right().length(5.0)
          .label("SNS%s  (glove cable)" % ch0["connector"][3:], "top", fontsize=9))
    pnode = d.add(elm.Dot())
    fsr = d.add(elm.ResistorVar().at(pnode.center).up().length(3.0)
                .label("FSR %s\n%s" % (ch0["class"][3:], ch0["name"]), "top", ofst=0.35,
                       fontsize=9))
    qnode = d.add(elm.Dot())
    d.add(elm.Line().at(pnode.center).right().length(1.8))
    bleed = d.add(elm.Resistor().up().length(3.0)
                  .label("R_bleed\n%s" % design.ohms(sc0["r_bleed_ohm"]), "bottom", ofst=0.35,
                         fontsize=9))
    d.add(elm.Line().left().length(1.8))
    d.add(elm.Line().at(qnode.center).up().length(0.8))
    d.add(elm.Vdd().label("3V3_SNS", fontsize=9))
    d.add(elm.EncircleBox([fsr, bleed], padx=0.4, pady=0.4, includelabels=True)
          .linestyle("--").label("at the sensor (on the glove)", "bottom", fontsize=9))
    d.add(elm.Label().at((mux.C0[0] + 0.6, mux.C0[1] - 4.6)).label(
        "Channel %d drawn in full: %s (%s) on mux input %s.\n"
        "3V3_SNS is 3V3(OUT) carried to the glove on the cable's 3V3_SNS wire."
        % (ch0["index"], ch0["name"], ch0["class"], ch0["mux_label"]),
        fontsize=10, halign="left"))

    # Vibration motor drivers, one per hand.
    x0 = mux.S0[0] + 1.0
    y0 = pico.GND[1] - 3.2
    for k, hand in enumerate(hands):
        pin = pico.absanchors["BZ_" + hand]
        xb = x0 + 9.0 * (len(hands) - 1 - k)   # upper pin to the farther driver: no crossings
        d.add(elm.Wire("-|").at(pin).to((xb, y0 + 0.0)))
        d.add(elm.Resistor().at((xb, y0)).right().length(2.2)
              .label("%s" % design.ohms(design.MOTOR_BASE_R_OHM), "top", fontsize=9))
        q = d.add(elm.BjtNpn(circle=True).anchor("base")
                  .label("PN2222A\n(%s)" % hand, "right", fontsize=9))
        d.add(elm.Line().at(q.emitter).down().length(0.5))
        d.add(elm.Ground().label("GND", "right", fontsize=9))
        d.add(elm.Line().at(q.collector).up().length(0.6))
        mbot = d.add(elm.Dot())
        d.add(elm.Motor().up().length(2.2).label("motor\n%s" % hand, "top", ofst=0.5,
                                                         fontsize=9))
        mtop = d.add(elm.Dot())
        d.add(elm.Line().at(mbot.center).right().length(1.6))
        d.add(elm.Diode().up().length(2.2).label("1N5819", "bottom", fontsize=9))
        d.add(elm.Line().left().length(1.6))
        d.add(elm.Resistor().at(mtop.center).up().length(2.0)
              .label("%s" % design.ohms(design.MOTOR_SERIES_R_OHM), "top", ofst=0.3,
                     fontsize=9))
        d.add(elm.Vdd().label("VSYS", fontsize=9))

    # Mark button and motor supply net labels at the Pico.
    d.add(elm.Line().at(pico.BTN).right().length(1.2))
    d.add(elm.Button().right().length(1.8).label("mark", "top", fontsize=9))
    d.add(elm.Line().right().length(0.4))
    d.add(elm.Ground().label("GND", "right", fontsize=9))
    d.add(elm.Line().at(pico.VSYS).right().length(1.0))
    d.add(elm.Label().label("VSYS (motors)", "right", fontsize=9))
    d.add(elm.Line().at(pico.GND).right().length(1.0))
    d.add(elm.Ground().label("GND", "right", fontsize=9))

    # Status LED: on the Pico board itself unless LED_PIN names a header pin.
    d.add(elm.Line().at(pico.LED).down().length(0.4))
    d.add(elm.LED().down().length(1.6).label("status LED" + (" (on the Pico)" if cfg.LED_PIN == "LED"
                                                             else ""), "bottom", ofst=0.4,
                                             fontsize=9))
    d.add(elm.Resistor().down().length(1.6).label("on the Pico" if cfg.LED_PIN == "LED"
                                                  else "330 ohm", "bottom", ofst=0.3, fontsize=9))
    d.add(elm.Ground())
    d.draw(show=False)


def render(cfg, svg_path=SVG_PATH, png_path=PNG_PATH):
    """Draw the schematic of board config `cfg` to SVG and PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bad = design.problems(cfg)
    if bad:
        raise ValueError("config cannot be wired: " + "; ".join(bad))
    plt.rcParams["svg.fonttype"] = "none"      # keep text as text: searchable, testable
    plt.rcParams["svg.hashsalt"] = "massage-glove"
    fig = plt.figure(figsize=(22, 12))
    ax = fig.add_axes([0.01, 0.06, 0.66, 0.88])
    ax.set_aspect("equal")
    ax.axis("off")
    _draw(cfg, ax)
    ax.autoscale_view()

    tab = fig.add_axes([0.69, 0.12, 0.30, 0.80])
    tab.axis("off")
    rows = [[str(r["index"]), r["name"], r["class"], r["mux_label"].split(" (")[0],
             "%d" % design.mux_chip_pin(r["mux_input"]), "%s %s" % (r["hand"][0].upper(), r["connector"]),
             design.ohms(r["r_divider_ohm"]), design.ohms(r["r_bleed_ohm"])]
            for r in design.channel_rows(cfg)]
    t = tab.table(cellText=rows, colLabels=["ch", "name", "sensor", "mux", "chip pin", "cable",
                                            "R_divider", "R_bleed"],
                  loc="upper center", cellLoc="center")
    t.auto_set_font_size(False)
    t.set_fontsize(11)
    t.auto_set_column_width(list(range(8)))
    t.scale(1.0, 1.6)
    tab.set_title("All %d channels (each: R_filter %s, C_filter %d nF, R_divider, R_bleed)"
                  % (len(rows), design.ohms(design.FILTER_R_OHM), round(design.FILTER_C_F * 1e9)),
                  fontsize=11)
    lines = ["Pins, channels and resistor values from firmware/glove/config.py (firmware %s)."
             % cfg.FIRMWARE_VERSION,
             "Pico pins: GPIO (header pin). Mux pins: name (chip pin of the bare CD74HC4067).",
             "AGND: divider, filter and mux ground, joined to GND only at the Pico.",
             "Generated by hardware/schematic.py; config fingerprint %s." % fingerprint(cfg)]
    fig.text(0.01, 0.015, "\n".join(lines), fontsize=10, va="bottom", family="monospace")
    fig.suptitle("massage-glove: reference board schematic", fontsize=16, y=0.985)
    meta = {"Title": "massage-glove reference board schematic",
            "Description": "config fingerprint %s" % fingerprint(cfg), "Date": None,
            "Creator": "hardware/schematic.py"}
    fig.savefig(svg_path, metadata=meta)
    fig.savefig(png_path, dpi=100, metadata={"Title": meta["Title"],
                                           "Description": meta["Description"],
                                           "Software": "hardware/schematic.py"})
    plt.close(fig)


def main(argv=None):
    cfg = design.load_config()
    render(cfg)
    print("wrote %s and %s" % (SVG_PATH, PNG_PATH), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
