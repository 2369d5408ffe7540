"""Choices of the sync engine."""

from django.db import models


class Entity(models.TextChoices):
    """What kind of local record a job or binding is about, in dependency order.

    A job for an entity runs the jobs of the entities it depends on first
    (a customer before its sites, a site before its contacts and assets, an
    asset before its charges); see ``DEPENDENCY_ORDER``.
    """

    CUSTOMER = "customer", "Customer"
    SITE = "site", "Site"
    CONTACT = "contact", "Contact"
    ASSET = "asset", "Asset"
    CHARGE = "charge", "Service charge"


DEPENDENCY_ORDER = {entity: rank for rank, entity in enumerate(Entity.values)}


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    SUCCEEDED = "succeeded", "Succeeded"
    NO_CHANGE = "no_change", "No change"
    FILTERED = "filtered", "Filtered"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    ABORTED = "aborted", "Aborted"
    # The record was deleted in The Layer and its deletion reached the platform (seed 003's
    # Sync History has a Deleted tab). A deletion the platform cannot take is FAILED instead,
    # in the error queue, naming the platform record to act on.
    DELETED = "deleted", "Deleted"


# Statuses a job ends in; a finished job never runs again unless staff retry it.
FINISHED_STATUSES = (
    JobStatus.SUCCEEDED,
    JobStatus.NO_CHANGE,
    JobStatus.FILTERED,
    JobStatus.SKIPPED,
    JobStatus.FAILED,
    JobStatus.ABORTED,
    JobStatus.DELETED,
)
# The error queue: jobs staff must act on (retry, skip or map).
ERROR_STATUSES = (JobStatus.FAILED, JobStatus.ABORTED)


class Operation(models.TextChoices):
    """What a job did on the platform."""

    NONE = "", "—"
    INSERTED = "inserted", "Inserted externally"
    UPDATED = "updated", "Updated externally"
    CEASED = "ceased", "Ceased externally"
    MAPPED = "mapped", "Mapped to an existing record"


class ErrorKind(models.TextChoices):
    """How the last error of a job was classified."""

    NONE = "", "—"
    RECOVERABLE = "recoverable", "Recoverable (retried with backoff)"
    PERMANENT = "permanent", "Permanent (rejected by the platform or our rules)"
    CONFIGURATION = "configuration", "Configuration (credentials or settings)"
    DEPENDENCY = "dependency", "Waiting on a failed dependency"


class Direction(models.TextChoices):
    EXPORT = "export", "Export (The Layer → platform)"
    IMPORT = "import", "Import (platform → The Layer)"
    BOTH = "both", "Bidirectional"


class PrimarySystem(models.TextChoices):
    LAYER = "layer", "The Layer"
    EXTERNAL = "external", "External system"


class FilterCondition(models.TextChoices):
    """Export filtering conditions, as on Acumatica's Entities form (seed 003)."""

    EQUALS = "equals", "Equals"
    NOT_EQUALS = "not_equals", "Does not equal"
    EMPTY = "empty", "Is empty"
    NOT_EMPTY = "not_empty", "Is not empty"
    CONTAINS = "contains", "Contains"
    IN = "in", "Is in (comma-separated)"


# Conditions that take no value.
VALUELESS_CONDITIONS = (FilterCondition.EMPTY, FilterCondition.NOT_EMPTY)


class FieldRule(models.TextChoices):
    """When a payload field is sent (seed tables' "One-off" / "Repeated")."""

    ONE_OFF = "one_off", "One-off (sent on creation only)"
    REPEATED = "repeated", "Repeated (resent whenever it changes)"


def role_label(role: str) -> str:
    """A binding's role as staff read it: ``billing_site`` → "Billing site"."""
    return role[:1].upper() + role[1:].replace("_", " ")


class PrepareMode(models.TextChoices):
    """Prepare Data's modes (seed 003): out-of-date records only, or every record."""

    INCREMENTAL = "incremental", "Incremental (out-of-date records)"
    FULL = "full", "Full (every record)"


class ScheduleKind(models.TextChoices):
    """How a sync schedule's times are given: every so many minutes, or as a crontab."""

    INTERVAL = "interval", "Every so many minutes"
    CRONTAB = "crontab", "At set times (crontab)"
