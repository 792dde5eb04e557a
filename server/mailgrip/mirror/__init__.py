"""Mirror: Sent Items sync, recipients and linking messages to their shares."""
