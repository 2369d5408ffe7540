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


# Statuses a job ends in; a finished job never runs again unless staff retry it.
FINISHED_STATUSES = (
    JobStatus.SUCCEEDED,
    JobStatus.NO_CHANGE,
    JobStatus.FILTERED,
    JobStatus.SKIPPED,
    JobStatus.FAILED,
    JobStatus.ABORTED,
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
