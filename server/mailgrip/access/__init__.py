"""Access: the one access decision and the blocks that feed it."""
