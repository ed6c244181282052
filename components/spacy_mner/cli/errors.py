"""The one error type of the command-line tools."""


class CliError(Exception):
    """A problem that ends a command with a one-line message and exit status 1."""
