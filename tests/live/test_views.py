"""Choosing the live view: terminal when headless or without a display, with a one-line reason."""
from __future__ import annotations

import io

from fakesource import FakeSource
from massage_glove.live import views
from massage_glove.live.view_mpl import MplView
from massage_glove.live.view_term import TermView


def test_headless_gives_the_terminal_view():
    out = io.StringIO()
    view = views.choose_view(FakeSource(), headless=True, stream=out)
    assert isinstance(view, TermView)
    assert out.getvalue() == "terminal view (--headless)\n"


def test_no_display_gives_the_terminal_view(monkeypatch):
    monkeypatch.setattr(views.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    out = io.StringIO()
    view = views.choose_view(FakeSource(), headless=False, stream=out)
    assert isinstance(view, TermView)
    assert "no display" in out.getvalue() and out.getvalue().count("\n") == 1


def test_display_without_a_gui_toolkit_gives_the_terminal_view(monkeypatch):
    monkeypatch.setattr(views.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":1234")
    monkeypatch.setattr(views, "load_gui_backend", lambda: (None, "no GUI toolkit loads (x)"))
    out = io.StringIO()
    assert isinstance(views.choose_view(FakeSource(), headless=False, stream=out), TermView)
    assert out.getvalue().startswith("terminal view: DISPLAY=:1234, but no GUI toolkit")


def test_display_and_a_gui_toolkit_give_the_window(monkeypatch):
    monkeypatch.setattr(views.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":1234")
    monkeypatch.setattr(views, "load_gui_backend", lambda: ("TkAgg", ""))
    out = io.StringIO()
    assert isinstance(views.choose_view(FakeSource(), headless=False, stream=out), MplView)
    assert out.getvalue() == "live window (TkAgg on DISPLAY=:1234)\n"


def test_views_get_sound_unless_quiet(monkeypatch):
    from massage_glove.live.sound import SoundMonitor
    out = io.StringIO()
    view = views.choose_view(FakeSource(), headless=True, stream=out)
    assert isinstance(view.sound, SoundMonitor)
    out = io.StringIO()
    view = views.choose_view(FakeSource(), headless=True, stream=out, quiet=True)
    assert view.sound is None and out.getvalue() == "terminal view (--headless), no sound (--quiet)\n"
    monkeypatch.setattr(views.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":1234")
    monkeypatch.setattr(views, "load_gui_backend", lambda: ("TkAgg", ""))
    assert isinstance(views.choose_view(FakeSource(), headless=False, stream=out).sound, SoundMonitor)
