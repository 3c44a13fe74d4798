"""One run: set up (run), loop (engine), resume (checkpoint), measure, record."""
