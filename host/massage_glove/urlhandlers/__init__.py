"""pyserial URL handlers of the instrument (`sim://`), found through serial_for_url."""
