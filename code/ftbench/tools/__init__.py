"""Commands around the pipeline: status, explain, eval, tune, dry run, verify, compare, bench."""
