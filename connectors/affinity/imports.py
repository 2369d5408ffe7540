"""The two Affinity imports (docs/affinity.md): initial linking and cease requests.

Both read a CSV file with strict headers, check every row first and report each bad
row with its line number. They are atomic: when any row is bad nothing is applied,
unless the caller asks to apply the good rows (``apply_good_rows``), and then every
good row is applied in one transaction.

- **Application links** (``Application Name``, ``Entity Id``, ``Entity Type``,
  ``Integration Id``): insert only; binds an existing Layer record to an existing
  Affinity record, so the next sync updates it instead of creating one. Entity types:
  ``AFFINITY_LINK_ENTITY_TYPES`` (default 19 = site, subsites too; 1 = customer;
  3 = contact: The Layer's numbers for those are not published, these are ours).
- **Cease requests** (``OBJECTUID``, ``Completed On``; other columns are ignored, as in
  Affinity's Openreach cease report): OBJECTUID is the Affinity id of an asset's site
  product or CTN; the asset's cease date is set, and it is ceased (live cleared) when
  the date is today or past.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.choices import AssetStatus, ChangeSource, ItemType
from billing.models import Asset
from billing.services import asset_save
from customers.models import Contact, Customer, Site

from ..choices import Entity
from ..engine.actions import external_id_problem
from ..engine.publish import changes_enqueue
from ..errors import SyncError
from ..models import Binding
from ..selectors import exporting_platforms
from .client import AffinityClient
from .constants import PLATFORM
from .sync import ENTITY_ROLES, ROLE_CTN, ROLE_SITE_PRODUCT

APPLICATION_NAME = "Aurora Affinity"
LINK_HEADERS = ("Application Name", "Entity Id", "Entity Type", "Integration Id")
CEASE_HEADERS = ("OBJECTUID", "Completed On")
DEFAULT_LINK_ENTITY_TYPES = {"19": Entity.SITE, "1": Entity.CUSTOMER, "3": Entity.CONTACT}
LINK_MODELS = {Entity.CUSTOMER: Customer, Entity.SITE: Site, Entity.CONTACT: Contact}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d-%m-%Y")
MAX_ROWS = 100_000


class ImportRefused(ValueError):
    """The file as a whole cannot be read (headers, encoding, size): nothing applied."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass
class ImportResult:
    """What an import found and did. ``applied`` is 0 when a bad row stopped it."""

    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    applied_lines: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "applied": self.applied,
            "unchanged": self.unchanged,
            "errors": [{"line": e.line, "message": e.message} for e in self.errors],
        }


def _rows(data: bytes | str, headers: tuple[str, ...], *, exact: bool) -> list[tuple[int, dict]]:
    """The data rows as (line number, {header: value}); ImportRefused for bad headers."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRefused("The file is not UTF-8 text (save it as CSV UTF-8).") from None
    reader = csv.reader(io.StringIO(data.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused("The file is empty: it needs a header row.") from None
    except csv.Error as exc:
        raise ImportRefused(f"The file is not valid CSV: {exc}.") from None
    names = [name.strip() for name in header]
    missing = [name for name in headers if name not in names]
    extra = [name for name in names if name not in headers]
    if missing or (exact and extra):
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if exact and extra:
            problems.append(f"unexpected {', '.join(name or '(blank)' for name in extra)}")
        raise ImportRefused(
            f"The header row must be exactly: {', '.join(headers)} ({'; '.join(problems)})."
            if exact
            else f"The header row must include {', '.join(headers)} ({'; '.join(problems)})."
        )
    if len(set(names)) != len(names):
        raise ImportRefused("The header row names a column twice.")
    found = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(found) >= MAX_ROWS:
                raise ImportRefused(f"The file has more than {MAX_ROWS} rows.")
            padded = cells + [""] * (len(names) - len(cells))
            found.append((number, {n: padded[i].strip() for i, n in enumerate(names)}))
    except csv.Error as exc:
        raise ImportRefused(f"The file is not valid CSV: {exc}.") from None
    return found


Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 200


def _run(
    rows: list[tuple[int, dict]],
    check: Callable[[int, dict, Any], Any],
    apply: Callable[[Any], bool],
    *,
    apply_good_rows: bool,
    progress: Progress | None = None,
) -> ImportResult:
    """Check every row, then apply the good ones in one transaction. ``progress(phase,
    done, total)`` hears how far the check has got (every ``PROGRESS_EVERY`` rows)."""
    result = ImportResult(rows=len(rows))
    good: list[tuple[int, Any]] = []
    state: dict[str, Any] = {}
    for done, (line, row) in enumerate(rows):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress("Checking the rows", done, len(rows))
        try:
            good.append((line, check(line, row, state)))
        except ValidationError as error:
            result.errors.append(RowError(line, " ".join(error.messages)))
    if result.errors and not apply_good_rows:
        return result
    if progress is not None:
        progress("Applying the rows", len(rows), len(rows))
    with transaction.atomic():
        for line, planned in good:
            if apply(planned):
                result.applied += 1
                result.applied_lines.append(line)
            else:
                result.unchanged += 1
    return result


# --- application links ---------------------------------------------------------------------
def link_entity_types() -> dict[str, str]:
    """Entity Type number → entity (``AFFINITY_LINK_ENTITY_TYPES``, else the defaults)."""
    configured = getattr(settings, "AFFINITY_LINK_ENTITY_TYPES", None)
    return {str(k): str(v) for k, v in (configured or DEFAULT_LINK_ENTITY_TYPES).items()}


def _remote_exists(client: AffinityClient, entity: str, external_id: str) -> bool:
    getter = {
        Entity.CUSTOMER: client.account_get,
        Entity.SITE: client.site_get,
        Entity.CONTACT: client.contact_get,
    }[entity]
    return getter(external_id) is not None


def affinity_links_import(
    *,
    data: bytes | str,
    apply_good_rows: bool = False,
    client: AffinityClient | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import Application Links: bind existing Layer records to existing Affinity records.

    With ``client``, each Integration Id is checked on Affinity (the record must exist
    there too). Applied links queue a sync of their record (it then updates the Affinity
    record with The Layer's data, The Layer being the system of authority).
    """
    rows = _rows(data, LINK_HEADERS, exact=True)
    types = link_entity_types()

    def check(line: int, row: dict, state: dict) -> tuple[str, int, str]:
        problems = []
        if row["Application Name"].casefold() != APPLICATION_NAME.casefold():
            problems.append(
                f'Application Name is "{row["Application Name"]}"; it must be {APPLICATION_NAME}.'
            )
        entity = types.get(row["Entity Type"])
        if entity is None:
            known = ", ".join(f"{k} ({v})" for k, v in sorted(types.items()))
            problems.append(f'Entity Type "{row["Entity Type"]}" is not one of {known}.')
        if not row["Entity Id"].isdigit():
            problems.append(f'Entity Id "{row["Entity Id"][:20]}" is not a record id.')
        external_id = row["Integration Id"]
        problem = external_id_problem(external_id)
        if problem:
            problems.append(f"Integration Id: {problem}")
        if problems:
            raise ValidationError(problems)
        object_id = int(row["Entity Id"])
        role = ENTITY_ROLES[entity]
        if not LINK_MODELS[entity].objects.filter(pk=object_id).exists():
            raise ValidationError(f"There is no {entity} {object_id} in The Layer.")
        own = Binding.objects.filter(
            platform=PLATFORM, role=role, entity=entity, object_id=object_id
        ).exclude(external_id="")
        if own.exists():
            raise ValidationError(
                f"{entity.capitalize()} {object_id} is linked already (to Affinity "
                f"{own.first().external_id}); links are insert only."
            )
        taken = Binding.objects.filter(platform=PLATFORM, role=role, external_id=external_id)
        if taken.exists():
            raise ValidationError(
                f"Affinity {role} {external_id} is linked already to {entity} "
                f"{taken.first().object_id}."
            )
        key, remote_key = (entity, object_id), (entity, external_id)
        if key in state:
            raise ValidationError(f"{entity.capitalize()} {object_id} is on line {state[key]} too.")
        if remote_key in state:
            raise ValidationError(
                f"Integration Id {external_id} is on line {state[remote_key]} too."
            )
        if client is not None:
            try:
                exists = _remote_exists(client, entity, external_id)
            except SyncError as error:
                raise ValidationError(f"Affinity could not be asked: {error.message}") from None
            if not exists:
                raise ValidationError(f"Affinity has no {role} {external_id}.")
        state[key] = state[remote_key] = line
        return entity, object_id, external_id

    def apply(planned: tuple[str, int, str]) -> bool:
        entity, object_id, external_id = planned
        now = timezone.now()
        binding, _ = Binding.objects.get_or_create(
            platform=PLATFORM, role=ENTITY_ROLES[entity], entity=entity, object_id=object_id
        )
        binding.external_id = external_id
        binding.payload = {}
        binding.payload_hash = ""  # the next sync sends every repeated field
        binding.first_synced_at = binding.first_synced_at or now
        binding.save()
        if PLATFORM in exporting_platforms(entity):
            changes_enqueue(
                entity=entity,
                object_ids=[object_id],
                reason=f"linked to Affinity {external_id} (import)",
                platforms=[PLATFORM],
            )
        return True

    return _run(rows, check, apply, apply_good_rows=apply_good_rows, progress=progress)


# --- cease requests ------------------------------------------------------------------------
def parse_completed_on(text: str) -> date:
    """``Completed On`` as a date: 2024-05-31, 31/05/2024 (time ignored), or ISO date-time."""
    value = text.strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise ValidationError(
            f'Completed On "{value[:30]}" is not a date (use 2024-05-31 or 31/05/2024).'
        ) from None


def assets_for_object_uid(uid: str) -> list[Asset]:
    """The assets an Affinity id names: the asset of that site product, or the assets of
    that CTN (its owner, and those whose site products are on it)."""
    bound = Binding.objects.filter(
        platform=PLATFORM, entity=Entity.ASSET, role__in=(ROLE_SITE_PRODUCT, ROLE_CTN)
    )
    ids = set(bound.filter(external_id=uid).values_list("object_id", flat=True))
    ids |= set(
        bound.filter(role=ROLE_SITE_PRODUCT, payload__ctn_id=uid).values_list(
            "object_id", flat=True
        )
    )
    return list(Asset.objects.filter(pk__in=ids).select_related("inventory_item").order_by("pk"))


def affinity_ceases_import(
    *,
    data: bytes | str,
    apply_good_rows: bool = False,
    today: date | None = None,
    user=None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import cease requests: set each matching service asset's cease date, and cease it
    (live cleared) when the date is today or past. An asset ceased already on that date
    is left unchanged; on another date the row is refused."""
    rows = _rows(data, CEASE_HEADERS, exact=False)
    today = today or timezone.localdate()

    def check(line: int, row: dict, state: dict) -> tuple[list[Asset], date]:
        uid = row["OBJECTUID"]
        if not uid:
            raise ValidationError("OBJECTUID is empty.")
        completed = parse_completed_on(row["Completed On"])
        if uid in state:
            raise ValidationError(f"OBJECTUID {uid} is on line {state[uid]} too.")
        assets = assets_for_object_uid(uid)
        if not assets:
            raise ValidationError(
                f"OBJECTUID {uid} is not the Affinity id of any asset's site product or CTN."
            )
        for asset in assets:
            if asset.inventory_item.item_type != ItemType.SERVICE:
                raise ValidationError(
                    f"OBJECTUID {uid} is asset {asset}, a product: cease requests cease "
                    "services only."
                )
            if asset.status == AssetStatus.CEASED and asset.cease_date != completed:
                raise ValidationError(
                    f"Asset {asset} ({uid}) is ceased already, on {asset.cease_date}."
                )
        state[uid] = line
        return assets, completed

    def apply(planned: tuple[list[Asset], date]) -> bool:
        assets, completed = planned
        changed = False
        for asset in assets:
            asset = Asset.objects.select_for_update().get(pk=asset.pk)
            ceases_now = completed <= today
            if asset.cease_date == completed and (
                asset.status == AssetStatus.CEASED or not ceases_now
            ):
                continue
            asset.cease_date = completed
            if ceases_now:
                asset.status = AssetStatus.CEASED
            asset_save(asset=asset, source=ChangeSource.BULK_UPDATE, user=user)
            changed = True
        return changed

    return _run(rows, check, apply, apply_good_rows=apply_good_rows, progress=progress)


def assets_cease_due(*, today: date | None = None, user=None) -> int:
    """Cease the live assets on Affinity whose cease date (from a cease import with a
    future date) has come: the import leaves them live until then. Returns how many."""
    today = today or timezone.localdate()
    on_affinity = Binding.objects.filter(
        platform=PLATFORM, role=ROLE_SITE_PRODUCT, entity=Entity.ASSET
    ).values("object_id")
    count = 0
    due = Asset.objects.filter(status=AssetStatus.LIVE, cease_date__lte=today, pk__in=on_affinity)
    for asset in due:
        asset.status = AssetStatus.CEASED
        asset_save(asset=asset, source=ChangeSource.BULK_UPDATE, user=user)
        count += 1
    return count


def results_lines(result: ImportResult) -> Iterable[str]:
    """The result as lines of text (commands and the admin show these)."""
    for error in result.errors:
        yield str(error)
    yield (
        f"{result.rows} row(s): {result.applied} applied, {result.unchanged} unchanged, "
        f"{len(result.errors)} bad."
    )
