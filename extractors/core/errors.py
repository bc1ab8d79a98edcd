"""Errors an extraction can raise.

An extraction either lands a complete unit (with quarantined records listed in its manifest) or
raises one of these; a unit that raised writes no manifest, so the load step never sees half of
it. Messages name the system, the endpoint or file, and the HTTP status - never a credential.
"""
from __future__ import annotations


class ExtractionError(RuntimeError):
    """A whole endpoint or file could not be read (after retries, where retrying makes sense)."""

    def __init__(
        self, system: str, url: str, status: int | None, detail: str = "", *, message: str | None = None,
    ) -> None:
        self.system = system
        self.url = url
        self.status = status
        if message is None:
            status_text = f"HTTP {status}" if status is not None else "no HTTP response"
            message = f"{system}: GET {url} failed: {status_text}"
            if detail:
                message += f" ({detail})"
        super().__init__(message)

    def __reduce__(self):
        # Units run in worker processes: the error must cross back whole (pickle would
        # otherwise call __init__ with the message alone).
        return (_rebuild, (type(self), self.__dict__.copy(), str(self)))


def _rebuild(cls: type, state: dict, message: str) -> ExtractionError:
    error = cls.__new__(cls)
    RuntimeError.__init__(error, message)
    error.__dict__.update(state)
    return error


class HttpStatusError(ExtractionError):
    """A non-retryable HTTP status (e.g. 401, 404, 422): the resource answered, but not with data."""


class MissingCredentialError(ExtractionError):
    """The environment variable that should hold a source's credential is not set."""

    def __init__(self, system: str, variable: str, purpose: str) -> None:
        self.variable = variable
        super().__init__(system, "", None, message=(
            f"{system}: environment variable {variable} is not set; it must hold the {purpose} "
            f"(the config names the variable, never the secret itself)"
        ))


def raise_collected(failures: list[ExtractionError], count_units: int) -> None:
    """After running every independent unit: re-raise the first failure, noting the others.

    Units that succeeded have written their manifests and will load; the caller (a Prefect task
    with retries) still sees the source as failed.
    """
    if not failures:
        return
    first = failures[0]
    first.add_note(f"{len(failures)} of {count_units} extraction units failed:")
    for other in failures:
        first.add_note(f"  - {other}")
    raise first
