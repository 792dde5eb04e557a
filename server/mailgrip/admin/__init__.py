"""Support's view of every mailbox: sync health, message search, timelines, audit export."""
