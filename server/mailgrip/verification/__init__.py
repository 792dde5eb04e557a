"""Recipient verification with one-time codes."""
