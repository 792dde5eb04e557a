"""The Outlook add-in: its manifest, and the files Outlook loads for its launch events."""
