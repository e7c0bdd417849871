"""Live practice: acquisition, the guided routine, and the views (window or terminal)."""
