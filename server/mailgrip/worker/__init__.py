"""Background jobs: for now a periodic Sent Items sync, in-process or as `mailgrip worker`."""
