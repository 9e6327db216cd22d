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
