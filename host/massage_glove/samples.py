"""The data the glove link hands to everything downstream: the channel table and sample blocks.

Units are in the field names: counts are raw ADC readings (0..2**adc_bits - 1), times are
seconds. A block is immutable once made; stages that transform it return new arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Flag bits of a data frame (docs/PROTOCOL.md, DATA).
FLAG_BUZZING = 0x01
FLAG_BUTTON = 0x02
FLAG_LIMIT = 0x04


@dataclass(frozen=True)
class Channel:
    """One sensor: its column in SampleBlock.counts and where it sits on the glove."""
    index: int          # column in counts (the device's mux order)
    name: str           # "R_thumb", "L_palm_heel", ...
    hand: str           # "right" | "left"
    site: str           # "thumb", "index", ..., "palm_heel"
    sensor_class: str   # "fsr402" | "fsr406"
    r_divider_ohm: float
    r_bleed_ohm: float


@dataclass(frozen=True)
class DeviceInfo:
    """What a glove says about itself (the META frame), as the host uses it."""
    glove_id: str
    firmware: str
    board: str
    protocol: int
    hands: tuple[str, ...]
    channels: tuple[Channel, ...]
    adc_bits: int
    vref_v: float
    rate_hz: float
    min_rate_hz: float
    max_rate_hz: float
    ts_bits: int
    seq_bits: int
    ring_slots: int
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def full_scale(self) -> int:
        return (1 << self.adc_bits) - 1

    @classmethod
    def from_meta(cls, meta: dict) -> "DeviceInfo":
        """Build from the META frame's JSON object, checked against docs/PROTOCOL.md first:
        protocol.MetaError (a ValueError naming the field) on a bad one."""
        from .protocol import check_meta
        check_meta(meta)
        chans = tuple(
            Channel(int(c["index"]), str(c["name"]), str(c["hand"]), str(c["site"]),
                    str(c["class"]), float(c["r_divider_ohm"]), float(c["r_bleed_ohm"]))
            for c in meta["channels"])
        return cls(
            glove_id=str(meta["glove_id"]), firmware=str(meta["firmware"]),
            board=str(meta["board"]), protocol=int(meta["protocol"]),
            hands=tuple(meta["hands"]), channels=chans, adc_bits=int(meta["adc_bits"]),
            vref_v=float(meta["vref_v"]), rate_hz=float(meta["rate_hz"]),
            min_rate_hz=float(meta["min_rate_hz"]), max_rate_hz=float(meta["max_rate_hz"]),
            ts_bits=int(meta["ts_bits"]), seq_bits=int(meta["seq_bits"]),
            ring_slots=int(meta["ring_slots"]), raw=dict(meta))

    def to_meta(self) -> dict:
        """The META object this description came from (rebuilt from the fields if none)."""
        if self.raw:
            return dict(self.raw)
        return {"protocol": self.protocol, "firmware": self.firmware, "board": self.board,
                "glove_id": self.glove_id, "hands": list(self.hands),
                "channels": [{"index": c.index, "name": c.name, "hand": c.hand, "site": c.site,
                              "class": c.sensor_class, "r_divider_ohm": c.r_divider_ohm,
                              "r_bleed_ohm": c.r_bleed_ohm} for c in self.channels],
                "adc_bits": self.adc_bits, "vref_v": self.vref_v, "rate_hz": self.rate_hz,
                "min_rate_hz": self.min_rate_hz, "max_rate_hz": self.max_rate_hz,
                "ts_bits": self.ts_bits, "seq_bits": self.seq_bits, "ring_slots": self.ring_slots}


@dataclass(frozen=True)
class SampleBlock:
    """Consecutive samples as received (n rows; gaps between rows are possible, see seq).

    seq:        int64, sequence number unwrapped across the 16-bit counter (a missing
                number is a lost sample: dropped on the glove or lost on the cable).
    t_device_s: float64, device timestamp unwrapped, seconds since the first sample of
                this link (restarts at a reconnect are joined so time keeps rising).
    t_host_s:   float64, host time when the frame was decoded: a label, the wall clock at
                program start plus monotonic time since (link.host_clock), so a wall-clock
                step moves no sample.
    counts:     uint16 (n, n_channels), raw ADC counts, columns in channel order.
    flags:      uint8, FLAG_* bits per sample.
    """
    seq: np.ndarray
    t_device_s: np.ndarray
    t_host_s: np.ndarray
    counts: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    def slice(self, i: int, j: int) -> "SampleBlock":
        """Rows i..j-1 (views of the same arrays, no copy)."""
        return SampleBlock(self.seq[i:j], self.t_device_s[i:j], self.t_host_s[i:j],
                           self.counts[i:j], self.flags[i:j])

    @classmethod
    def empty(cls, n_channels: int) -> "SampleBlock":
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
                   np.zeros((0, n_channels), np.uint16), np.zeros(0, np.uint8))

    @classmethod
    def concat(cls, blocks: list["SampleBlock"], n_channels: int) -> "SampleBlock":
        if not blocks:
            return cls.empty(n_channels)
        return cls(np.concatenate([b.seq for b in blocks]),
                   np.concatenate([b.t_device_s for b in blocks]),
                   np.concatenate([b.t_host_s for b in blocks]),
                   np.concatenate([b.counts for b in blocks]),
                   np.concatenate([b.flags for b in blocks]))


@dataclass(frozen=True)
class LinkEvent:
    """Something the link saw besides samples.

    kind: "boot" | "drop" | "gap" | "disconnect" | "reconnect" | "limit" | "button" |
          "fault" | "rate" | "corrupt" | "stall" | "resume" | "clock"
    t_host_s: when the host saw it; t_device_s: device time where known (else None);
    detail: kind-specific fields, e.g. gap: {"first_seq", "missing", "seconds"}.
    """
    kind: str
    t_host_s: float
    t_device_s: float | None
    detail: dict
    text: str = ""
