"""The run folder on disk: its paths, atomic writes, the run lock, the summary, file hashes."""
