"""User-facing input errors: each names the file, the field and how to fix it."""

from __future__ import annotations


class InputError(Exception):
    """Bad user input (scenario file, county CSV). The CLI prints it and exits with status 2."""

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = str(file)
        self.field = field
        self.message = message
        super().__init__(f"{self.file}: {field}: {message}")
