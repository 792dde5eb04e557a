"""`mailgrip demo`: everything on one machine, with the emulator standing in for Microsoft 365."""
