"""Shares: the secure-files bundle of a message, its files and their storage."""
