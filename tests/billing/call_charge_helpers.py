"""Shared setup of the call charge tests: a location, product group and product, an import."""

from datetime import date

from billing import call_charges
from tests.factories import InventoryItemFactory, LocationFactory, ProductGroupFactory

from .call_logger_files import call_file, call_row

TODAY = date(2025, 6, 30)


def import_settings(**overrides) -> dict:
    """The import page's settings; those not given are made (a call logger location, ...)."""
    defaults = {
        "location": lambda: LocationFactory(name="Leeds Hub"),
        "product_group": lambda: ProductGroupFactory(name="Telephone Charges"),
        "product": lambda: InventoryItemFactory(name="Call Charges"),
        "batch_date": lambda: date(2025, 7, 1),
        "reference_date": lambda: date(2025, 6, 30),
        "reference_text": lambda: "June calls",
    }
    return {
        name: overrides[name] if name in overrides else make() for name, make in defaults.items()
    }


def import_file(content: bytes | None = None, *, settings: dict | None = None, **options):
    """Import ``content`` (a one-row file by default) with ``settings``."""
    return call_charges.charge_import_create(
        **(settings or import_settings()),
        file_name="calls.csv",
        content=content if content is not None else call_file(call_row()),
        today=TODAY,
        **options,
    )
