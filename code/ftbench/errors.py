"""One exception type for anything the user can fix: the CLI prints it as one line, exit 2."""


class UserError(Exception):
    """Bad input (config, data, command line). The message names the problem and the fix."""
