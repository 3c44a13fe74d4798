"""The runs of a profile for Make: stamps, the Make fragment, done or stale by content."""
