"""The sync engine's records: jobs (outbox and history), attempts, bindings, settings.

A ``SyncJob`` row is written in the same transaction as the change that
needs syncing, so the change and its job commit or roll back together. The
row then records everything that happened to it (status, operation, attempts,
errors), which makes it the Sync History and the error queue as well.

Records are referred to by ``entity`` and ``object_id`` rather than foreign
keys: a job must outlive the record it is about (its history stays readable
after the record is deleted), and the domain apps must not know about the
engine.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import ngettext
from django_celery_beat.validators import (
    day_of_month_validator,
    day_of_week_validator,
    hour_validator,
    minute_validator,
    month_of_year_validator,
)

from billing.choices import BillingFrequency
from billing.models import BackgroundImport

from .choices import (
    ERROR_STATUSES,
    Direction,
    Entity,
    ErrorKind,
    FilterCondition,
    JobStatus,
    Operation,
    PrepareMode,
    PrimarySystem,
    ScheduleKind,
)


class SyncJob(models.Model):
    """One piece of work for one record on one platform, and what came of it."""

    platform = models.CharField(max_length=20, db_index=True)
    entity = models.CharField(max_length=20, choices=Entity.choices)
    object_id = models.PositiveBigIntegerField("record id")
    object_repr = models.CharField("record", max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    operation = models.CharField(
        max_length=20, choices=Operation.choices, default=Operation.NONE, blank=True
    )
    reason = models.CharField(
        "queued because", max_length=200, blank=True, help_text="What caused the job."
    )
    force = models.BooleanField(
        default=False, help_text="Send even if the payload equals what the platform last received."
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField("next attempt", db_index=True)
    last_attempt_at = models.DateTimeField("last attempt", null=True, blank=True)
    locked_until = models.DateTimeField(
        "lease until",
        null=True,
        blank=True,
        help_text="An in-flight job whose lease has passed "
        "is released by the sweeper (its worker died).",
    )
    locked_by = models.CharField("worker", max_length=100, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    error_kind = models.CharField(
        max_length=20, choices=ErrorKind.choices, default=ErrorKind.NONE, blank=True
    )
    last_error = models.TextField(blank=True)
    filtered_by = models.CharField(
        max_length=300, blank=True, help_text="The export filtering condition that excluded it."
    )
    blocked_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="blocking",
        help_text="The failed job of a record this one depends on.",
    )
    external_id = models.CharField(max_length=100, blank=True)
    resolved_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a failed job left the error queue: a later job for the same record "
        "succeeded, or staff retried or skipped it.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sync job"
        ordering = ["-id"]
        constraints = [
            # Repeated changes merge into the one pending job of a record.
            models.UniqueConstraint(
                fields=["platform", "entity", "object_id"],
                condition=Q(status=JobStatus.PENDING),
                name="one_pending_job_per_record",
            ),
            # A record is worked on by one worker at a time: the claim of a second
            # job for it fails here, so no retry or race can create it twice.
            models.UniqueConstraint(
                fields=["platform", "entity", "object_id"],
                condition=Q(status=JobStatus.IN_FLIGHT),
                name="one_in_flight_job_per_record",
            ),
        ]
        indexes = [
            models.Index(fields=["platform", "entity", "object_id"], name="syncjob_record"),
            models.Index(fields=["status", "next_attempt_at"], name="syncjob_due"),
            # The sync dashboard's outcomes per day: a range of finish times, per platform
            # and status, read from the index alone.
            models.Index(fields=["platform", "status", "finished_at"], name="syncjob_outcomes"),
            # The error queue: a small part of the history, counted and grouped by the
            # dashboard and the Sync History's filter without reading the rest.
            models.Index(
                fields=["platform", "error_kind"],
                condition=Q(status__in=ERROR_STATUSES, resolved_at__isnull=True),
                name="syncjob_error_queue",
            ),
        ]
        permissions = [("retry_syncjob", "Can retry, skip or map jobs in the error queue")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.platform} {self.entity} {self.object_repr or self.object_id}"

    @property
    def in_error_queue(self) -> bool:
        return self.status in ERROR_STATUSES and self.resolved_at is None


class SyncAttempt(models.Model):
    """One HTTP call made for a job, with redacted excerpts of what went each way."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    request_excerpt = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "HTTP attempt"

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code or self.error[:40]}"


class Binding(models.Model):
    """A local record's counterpart on a platform, in one role.

    ``payload`` and ``payload_hash`` are what the platform last received; a
    payload that hashes the same is not sent again. ``external_id`` is written
    the moment a remote create succeeds, in its own transaction.
    """

    platform = models.CharField(max_length=20)
    role = models.CharField(max_length=40)
    entity = models.CharField(max_length=20, choices=Entity.choices)
    object_id = models.PositiveBigIntegerField("record id")
    external_id = models.CharField(max_length=100, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    first_synced_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "role", "entity", "object_id"], name="one_binding_per_role"
            ),
            models.UniqueConstraint(
                fields=["platform", "role", "external_id"],
                condition=~Q(external_id=""),
                name="one_record_per_external_id",
            ),
        ]
        indexes = [models.Index(fields=["platform", "entity", "object_id"], name="binding_record")]

    def __str__(self) -> str:
        return f"{self.platform} {self.role} {self.entity} #{self.object_id} → {self.external_id}"


class EntitySetting(models.Model):
    """Per platform and entity: whether it syncs, which way, and which system leads."""

    platform = models.CharField(max_length=20)
    entity = models.CharField(max_length=20, choices=Entity.choices)
    active = models.BooleanField(default=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.EXPORT)
    primary_system = models.CharField(
        max_length=10, choices=PrimarySystem.choices, default=PrimarySystem.LAYER
    )

    class Meta:
        ordering = ["platform", "entity"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "entity"], name="one_setting_per_entity")
        ]

    def __str__(self) -> str:
        return f"{self.platform}: {self.get_entity_display()}"

    @property
    def exports(self) -> bool:
        return self.active and self.direction in (Direction.EXPORT, Direction.BOTH)


class ExportFilter(models.Model):
    """A condition a record must meet to be exported (all active conditions must hold)."""

    setting = models.ForeignKey(EntitySetting, on_delete=models.CASCADE, related_name="filters")
    active = models.BooleanField(default=True)
    field = models.CharField(
        "field name",
        max_length=100,
        help_text="A field of the record, or of a related record with __ (customer_class__code).",
    )
    condition = models.CharField(max_length=20, choices=FilterCondition.choices)
    value = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        shown = "" if not self.value else f" {self.value}"
        return f"{self.field} {self.get_condition_display().lower()}{shown}"


class ValueMapping(models.Model):
    """A Layer value and the id a platform knows it by (a bill run name → an Abillity id).

    Platforms whose lookups (bill runs, payment conditions, ...) have no list
    endpoint are told the ids by configuration; a value with no mapping is a
    permanent error naming it.
    """

    platform = models.CharField(max_length=20)
    kind = models.CharField(max_length=40)
    layer_value = models.CharField(max_length=100)
    external_value = models.CharField(max_length=100)

    class Meta:
        ordering = ["platform", "kind", "layer_value"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "kind", "layer_value"], name="one_mapping_per_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.kind}: {self.layer_value} → {self.external_value}"


class InitialSyncEvent(models.Model):
    """That one of seed 000's initial sync events happened for a customer, and which: a
    quote won, a lead converted by hand, a sales order created, a manual sync. A customer
    created directly ("skipping the lead stage") has none until staff sync it by hand, and
    until then its saves send nothing to a platform that waits for one (Abillity). Kept
    so that later saves of a customer once synced keep syncing."""

    class Event(models.TextChoices):
        QUOTE_WIN = "quote_win", "Lead converted by a won quote"
        LEAD_CONVERSION = "lead_conversion", "Lead converted by hand"
        SALES_ORDER = "sales_order", "Sales order created"
        MANUAL_SYNC = "manual_sync", "Manual sync"

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="initial_sync_event"
    )
    event = models.CharField(max_length=20, choices=Event.choices)
    happened_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_event_display()}"


class ChargeType(models.Model):
    """A billing platform's service charge type and the billing frequency it suits.

    aBILLity refuses a service charge whose ``ChargeId`` does not suit its
    ``FrequencyTypeId`` ("servicecharge.ChargeId, Invalid ChargeId", abillity-api.md §10)
    and has no list of types to read (§11): staff keep this catalogue, and the inventory
    item admin and the sync check the ids the items hold against it.
    """

    platform = models.CharField(max_length=20)
    type_id = models.PositiveIntegerField("type id", help_text="The id the platform gives it.")
    name = models.CharField(max_length=50, blank=True, help_text="Its name on the platform.")
    frequency = models.CharField(
        max_length=10,
        choices=BillingFrequency.choices,
        help_text="The billing frequency the platform allows with it.",
    )

    class Meta:
        ordering = ["platform", "type_id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "type_id"], name="one_charge_type_per_id")
        ]

    def __str__(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"{self.platform} charge type {self.type_id}{label} ({self.get_frequency_display()})"


class ReconciliationRun(models.Model):
    """The outcome of one reconciliation with a platform (``connectors.reconciliation``),
    kept so the sync dashboard shows the latest without reading the platform again.

    Only the summary is kept (counts by kind, or the error that stopped the run): the
    differences themselves are read afresh on the reconciliation page.
    """

    platform = models.CharField(max_length=20)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField(
        default=True, help_text="False when the platform could not be read (see error)."
    )
    difference_count = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Differences by kind.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["platform", "-id"], name="reconciliationrun_latest")]

    def __str__(self) -> str:
        from layer_sync.wording import local_datetime

        count = self.difference_count
        differences = ngettext("%(count)d difference", "%(count)d differences", count) % {
            "count": count
        }
        outcome = differences if self.ok else "failed"
        return f"{self.platform} reconciliation {local_datetime(self.finished_at)}: {outcome}"


class AffinityImportManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind__in=("affinity_links", "affinity_ceases"))


class AffinityImport(BackgroundImport):
    """Affinity's file imports (application links, cease requests), run in the background.

    The same rows as billing's file imports, seen from the sync engine's admin: its own
    page takes the file (``connectors.affinity.background`` runs it) and its own
    permissions say who may import.
    """

    objects = AffinityImportManager()

    class Meta:
        proxy = True
        verbose_name = "Affinity import"


class SyncSchedule(models.Model):
    """Prepare and/or process one platform's entity (or all its entities) on a schedule
    that staff set (issue 21: "per platform and entity, prepare and process on a schedule").

    Beat runs it: ``connectors.schedules.sync_schedule_save`` keeps a django-celery-beat
    ``PeriodicTask`` in step with the row (its times, enabled or not), whose task is
    ``connectors.sync_schedule_run``. The outcome of the latest run is kept here.
    """

    platform = models.CharField(max_length=20)
    entity = models.CharField(
        max_length=20,
        choices=Entity.choices,
        blank=True,
        help_text="Blank: every entity the platform exports, in its order.",
    )
    mode = models.CharField(
        "prepare mode", max_length=12, choices=PrepareMode.choices, default=PrepareMode.INCREMENTAL
    )
    prepare = models.BooleanField(
        default=True, help_text="Queue a job for each record to sync (Prepare Data)."
    )
    process = models.BooleanField(
        default=True,
        help_text="Run the due jobs (Process Data) in the worker that runs the schedule.",
    )
    kind = models.CharField(
        "runs", max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.INTERVAL
    )
    every_minutes = models.PositiveIntegerField(
        "every (minutes)",
        null=True,
        blank=True,
        help_text="For a schedule that runs every so often.",
    )
    # The crontab fields, checked by django-celery-beat's own validators.
    minute = models.CharField(max_length=60, default="0", validators=[minute_validator])
    hour = models.CharField(max_length=60, default="*", validators=[hour_validator])
    day_of_month = models.CharField(
        "day of month", max_length=60, default="*", validators=[day_of_month_validator]
    )
    month_of_year = models.CharField(
        "month", max_length=60, default="*", validators=[month_of_year_validator]
    )
    day_of_week = models.CharField(
        "day of week",
        max_length=60,
        default="*",
        validators=[day_of_week_validator],
        help_text="0 or sun … 6 or sat.",
    )
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    last_run_at = models.DateTimeField("last run", null=True, blank=True, editable=False)
    last_outcome = models.TextField("last outcome", blank=True, editable=False)
    last_run_ok = models.BooleanField(null=True, editable=False)

    class Meta:
        ordering = ["platform", "entity", "id"]
        verbose_name = "sync schedule"

    def __str__(self) -> str:
        entity = self.get_entity_display() if self.entity else "all entities"
        steps = " and ".join(
            step for step, on in (("prepare", self.prepare), ("process", self.process)) if on
        )
        return f"{self.platform}: {entity}, {steps or 'nothing'} ({self.when})"

    def clean(self) -> None:
        from .schedules import sync_schedule_problems

        if problems := sync_schedule_problems(self):
            raise ValidationError(problems)

    @property
    def when(self) -> str:
        """The times as staff set them: "every 15 min" or the five crontab fields."""
        if self.kind == ScheduleKind.INTERVAL:
            return f"every {self.every_minutes} min"
        return " ".join(
            (self.minute, self.hour, self.day_of_month, self.month_of_year, self.day_of_week)
        )
