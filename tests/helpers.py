"""Helpers shared by the service tests."""

import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from customers.models import CompanySettings

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: concurrent transactions on separate connections",
)


def set_company(**values) -> CompanySettings:
    """Change the company settings row and save it."""
    settings_row = CompanySettings.load()
    for name, value in values.items():
        setattr(settings_row, name, value)
    settings_row.save()
    return settings_row


def message_of(error: ValidationError, field: str) -> str:
    """The messages a ValidationError holds for `field`, as one string."""
    return " ".join(error.message_dict[field])


def run_concurrently(*functions: Callable[[], object], timeout: float = 30):
    """Run each function in its own thread (its own database connection), released together.

    Returns (results, errors), one slot per function.
    """
    barrier = threading.Barrier(len(functions), timeout=timeout)
    results: list = [None] * len(functions)
    errors: list = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:  # reported to the test, whatever it is
            errors[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=runner, args=(index, function))
        for index, function in enumerate(functions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a concurrent call did not finish"
    return results, errors
