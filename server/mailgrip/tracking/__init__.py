"""Tracking: recording events and deriving states from them."""
