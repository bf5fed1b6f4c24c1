"""Exceptions whose message is the one line a user needs to read (what is wrong, what to do)."""


class SkycallError(Exception):
    """Base class: ``str(err)`` is a complete, user-facing one-line message."""


class ConfigError(SkycallError):
    """A profile, flowgraph or scenario file (or a CLI value) is invalid.

    Parameters
    ----------
    file : str
        Path of the offending file (or ``"<cli>"`` / ``"<dict>"``).
    key : str
        Dotted key inside the file, e.g. ``"tx_guard.max_gain_db"``.
    message : str
        What is wrong and what is allowed.
    """

    def __init__(self, file: str, key: str, message: str):
        self.file, self.key, self.message = str(file), key, message
        super().__init__(f"{self.file}: {key}: {message}" if key else f"{self.file}: {message}")


class ConfigErrors(SkycallError):
    """Several :class:`ConfigError` found in one validation pass."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class MissingDependency(SkycallError):
    """An optional library or system package is not installed; the message says how to install it."""


class HardwareNotFound(SkycallError):
    """No radio answered at the given URI/arguments."""
