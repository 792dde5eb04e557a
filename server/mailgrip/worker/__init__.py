"""Background jobs on a Huey queue: change notifications, delta syncs, subscriptions."""
