"""One exception type for every expected failure: its message is a single line for the user."""


class NativevalError(Exception):
    """An expected failure. ``str(err)`` says what is wrong and what to do, on one line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class DatasetUnavailable(NativevalError):
    """A dataset could be found neither in a mirror nor on the Hub."""


class InputError(NativevalError):
    """A user-supplied file or value is malformed."""


class WriteFailed(NativevalError):
    """Finished work could not be saved (a full disk, a folder that turned read-only): exit 1, never 0."""

    exit_code = 1


def os_reason(err: OSError) -> str:
    """An OSError's reason in words ("No space left on device"), without the path it names."""
    if err.strerror:
        return err.strerror
    return str(err).splitlines()[0] if str(err) else type(err).__name__
