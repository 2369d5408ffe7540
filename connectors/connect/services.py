"""Send to Connect (seed 004): create the customer's Connect client, exactly once.

Exactly once, whatever staff do (double clicks, two people at once, a retry
after a timeout):

1. the customer's row is locked (``select_for_update``) for the whole send,
   so concurrent sends of one customer run one after another;
2. under the lock, a customer whose binding (platform ``connect``, role
   ``client``) has an external id is already sent: nothing is called;
3. before creating, Connect is asked for a client with the customer's
   Billing Reference (its id): a create whose answer was lost (a timeout)
   is found and bound instead of being made again;
4. Connect refuses a second client with the same Billing Reference (409,
   naming the client that has it): a create still hanging from an earlier
   attempt and a retry cannot both succeed; the 409's client is bound;
5. the external id is written the moment the create (or lookup) answers,
   in the transaction that holds the lock; the binding's unique constraints
   back it.

Steps 3 to 5 are the engine's: the client is declared as a platform record
(``records.CLIENT``) and pushed with ``engine.records.record_push``, which looks it
up, creates it and binds it.

Connect is called inside the request (bounded by the connector's timeouts):
staff press the button to get the client now, and the page then links to
it. A failure changes nothing here and says what to do.

A send that reached Connect is kept in the Sync History as the engine's jobs are: a
job (platform ``connect``, the customer) with its outcome, and an attempt row per HTTP
call, made by the same recorded client (``ConnectConnector.client`` with an observer).
It is written once the send is over, outside the send's transaction, so a failure
(whose transaction rolls back) is kept too; a success takes the customer's earlier
failed sends out of the error queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.call_charges import account_code_set
from billing.choices import PlatformCode
from billing.models import AccountCode
from customers.choices import CustomerStage, CustomerStatus
from customers.models import Customer
from layer_sync.links import link_url

from ..base import connector_for, registered
from ..choices import ERROR_STATUSES, Entity, ErrorKind, JobStatus, Operation
from ..engine.push import json_safe
from ..engine.records import record_push
from ..errors import ConfigurationError, PermanentError, RecoverableError, SyncError
from ..http import AttemptRecord
from ..models import Binding, SyncAttempt, SyncJob
from ..redaction import redact
from . import mappers
from .client import ConnectClient
from .constants import NAME_MAX, PLATFORM
from .records import CLIENT, ROLE_CLIENT, SendContext

NOT_SENT = "Contacts, services and rooms are not sent: add users, services and rooms in Connect."


class SendRefused(PermanentError):
    """Our own rules refuse the send (a lead, a cancelled customer, a name Connect refuses)."""


@dataclass(frozen=True)
class ConnectClientState:
    """A customer's Connect client as The Layer knows it (from the send)."""

    client_id: str
    url: str
    status: str
    name: str
    type: str
    start_date: str
    end_date: str
    billing_reference: str
    sent_at: datetime | None
    sent_by: str

    @property
    def link_url(self) -> str:
        """The client's URL when it is a web address a page may link to ("" otherwise:
        Connect's answer is not trusted to be one)."""
        return link_url(self.url)


@dataclass(frozen=True)
class SendResult:
    customer: Customer
    client: ConnectClientState
    created: bool  # this send bound the customer (a new client, or one found by reference)
    found_existing: bool  # Connect already had a client with the Billing Reference
    notes: tuple[str, ...] = ()


def connect_client_binding(customer: Customer) -> Binding | None:
    """The customer's binding to its Connect client, if it was sent."""
    return (
        Binding.objects.filter(
            platform=PLATFORM, role=ROLE_CLIENT, entity=Entity.CUSTOMER, object_id=customer.pk
        )
        .exclude(external_id="")
        .first()
    )


def connect_client_state(customer: Customer) -> ConnectClientState | None:
    """What was sent for the customer and the client it made (None: not sent)."""
    binding = connect_client_binding(customer)
    return None if binding is None else _state(binding)


def _state(binding: Binding) -> ConnectClientState:
    sent = binding.payload or {}
    return ConnectClientState(
        client_id=binding.external_id,
        url=str(sent.get("url", "")),
        status=str(sent.get("status", "")),
        name=str(sent.get("name", "")),
        type=str(sent.get("type", "")),
        start_date=str(sent.get("start_date", "")),
        end_date=str(sent.get("end_date", "")),
        billing_reference=str(sent.get("billing_reference", "")),
        sent_at=binding.first_synced_at,
        sent_by=str(sent.get("sent_by", "")),
    )


def connect_send_refusal(customer: Customer) -> str:
    """Why the customer cannot be sent to Connect ("" when it can)."""
    if customer.stage != CustomerStage.CUSTOMER:
        return f"{customer} is a lead: convert it to a customer before sending it to Connect."
    if customer.status == CustomerStatus.CANCELLED:
        return f"{customer} is cancelled: a cancelled customer is not sent to Connect."
    if len(customer.name.strip()) > NAME_MAX:
        return (
            f"Connect takes client names of at most {NAME_MAX} characters; this customer's has "
            f"{len(customer.name.strip())}. Shorten it (keep the legal name in Registered Company "
            "Name) and send again."
        )
    return ""


def connect_integration_on() -> bool:
    """Whether Send to Connect is available: the connector registered, its integration on."""
    connector = registered().get(PLATFORM)
    return connector is not None and connector.is_enabled()


@dataclass
class _SendLog:
    """One send's calls to Connect, kept until the send is over (``_history_record``)."""

    customer: Customer | None = None  # set when the send gets as far as Connect's client
    calls: list[AttemptRecord] = field(default_factory=list)
    started_at: datetime = field(default_factory=timezone.now)
    reason: str = "Send to Connect"
    job: SyncJob | None = None  # the Sync History's record of the send, once written


def connect_client_send(*, customer_id: int, user: Any = None) -> SendResult:
    """Create the customer's Connect client, or answer the one it has. See the module doc.

    Raises Customer.DoesNotExist, ConfigurationError (the integration off, no
    URL or token), SendRefused (our rules), RecoverableError (Connect did not
    answer: send again, the lookup finds a client made meanwhile) or
    PermanentError (Connect refused). A send that reached Connect's client is kept in
    the Sync History, failed or not.
    """
    return _send_recorded(customer_id=customer_id, user=user, log=_SendLog())


def _send_recorded(*, customer_id: int, user: Any, log: _SendLog) -> SendResult:
    try:
        result = _client_send(customer_id=customer_id, user=user, log=log)
    except SyncError as error:
        if log.customer is not None:
            log.job = _history_record(log.customer, log, user=user, error=error)
        raise
    if log.customer is not None:
        log.job = _history_record(log.customer, log, user=user, result=result)
    return result


def connect_send_retry(job: SyncJob, *, user: Any = None) -> SyncJob:
    """Staff's Retry of a Send to Connect job (the Sync History, the error queue): the
    customer is sent again now, by the page's path, and the send is recorded as a new
    job, which is returned. The retried job leaves the error queue (a success resolves
    it; a failure is the new job's to show). A send refused before Connect is called
    (the integration off, a lead, a cancelled customer, a name too long) or a customer
    already on Connect changes nothing and says why (``PermanentError``)."""
    log = _SendLog(reason=f"Send to Connect (retry of job #{job.pk})")
    try:
        result = _send_recorded(customer_id=job.object_id, user=user, log=log)
    except Customer.DoesNotExist:
        raise PermanentError(
            f"Job #{job.pk} cannot be sent again: customer #{job.object_id} no longer exists."
        ) from None
    except SyncError as error:
        if log.job is None:
            raise PermanentError(
                f"Job #{job.pk} was not sent again: {getattr(error, 'message', error)} Then "
                "retry it, or press Send to Connect on the customer's page."
            ) from None
    else:
        if log.job is None:
            raise PermanentError(
                f"{result.customer} is on Connect already (client {result.client.client_id}): "
                f"there is nothing to send again. Skip job #{job.pk}."
            )
    SyncJob.objects.filter(pk=job.pk, resolved_at__isnull=True).update(resolved_at=timezone.now())
    return log.job


def _history_record(
    customer: Customer,
    log: _SendLog,
    *,
    user: Any,
    result: SendResult | None = None,
    error: SyncError | None = None,
) -> SyncJob:
    """The send as a finished job of the Sync History, with an attempt row per call."""
    now = timezone.now()
    job = SyncJob(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        object_repr=str(customer)[:255],
        reason=log.reason,
        attempts=1,
        next_attempt_at=log.started_at,
        last_attempt_at=log.started_at,
        finished_at=now,
        requested_by=user if getattr(user, "pk", None) else None,
    )
    if result is not None:
        job.status = JobStatus.SUCCEEDED
        job.operation = Operation.MAPPED if result.found_existing else Operation.INSERTED
        job.external_id = result.client.client_id
        job.last_error = redact("; ".join(result.notes))
    else:
        # Sent once, by hand: a call that got no answer is not retried (staff send again,
        # and the lookup finds a client made meanwhile), so it ends here as an abort.
        recoverable = isinstance(error, RecoverableError)
        job.status = JobStatus.ABORTED if recoverable else JobStatus.FAILED
        job.error_kind = (
            ErrorKind.RECOVERABLE
            if recoverable
            else ErrorKind.CONFIGURATION
            if isinstance(error, ConfigurationError)
            else ErrorKind.PERMANENT
        )
        job.last_error = redact(getattr(error, "message", "") or str(error))
    with transaction.atomic():
        job.save()
        SyncAttempt.objects.bulk_create(SyncAttempt(job=job, **vars(call)) for call in log.calls)
        if result is not None:  # the customer's earlier failed sends leave the error queue
            SyncJob.objects.filter(
                platform=PLATFORM,
                entity=Entity.CUSTOMER,
                object_id=customer.pk,
                status__in=ERROR_STATUSES,
                resolved_at__isnull=True,
            ).exclude(pk=job.pk).update(resolved_at=now)
    return job


def _client_send(*, customer_id: int, user: Any, log: _SendLog) -> SendResult:
    connector = connector_for(PLATFORM)
    if not connector.is_enabled():
        raise ConfigurationError(
            "The Connect integration is off: turn it on under Billing platforms first."
        )
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update(of=("self",))
            .select_related("account_type")
            .get(pk=customer_id)
        )
        binding = connect_client_binding(customer)
        if binding is not None:
            return SendResult(customer, _state(binding), created=False, found_existing=False)
        refusal = connect_send_refusal(customer)
        if refusal:
            raise SendRefused(refusal)
        sent_at = timezone.now()
        payload = mappers.client_payload(customer, sent_at=sent_at)
        log.customer, log.started_at = customer, sent_at
        client: ConnectClient = connector.client(observer=log.calls.append)
        context = SendContext(
            job=SyncJob(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk),
            connector=connector,
            entity=Entity.CUSTOMER,
            record=customer,
            client=client,
        )
        try:  # the engine looks the client up by Billing Reference, creates it, binds it
            record_push(context, CLIENT, payload=dict(payload))
        finally:
            client.close()
        _binding_keep_answer(context, payload, user=user)
        notes = _account_code_add(customer, payload["billing_reference"])
    return SendResult(
        customer,
        connect_client_state(customer),
        created=True,
        found_existing=context.found_existing,
        notes=notes,
    )


def _binding_keep_answer(context: SendContext, payload: dict[str, Any], *, user: Any) -> None:
    """The client binding also keeps what the page shows: the client's status and URL as
    Connect answered, who sent it, and (a client found) what Connect holds, not what this
    send would have made."""
    remote = context.remote
    who = getattr(user, "get_username", lambda: "")() if user is not None else ""
    kept = {
        **payload,
        "status": str(remote.get("status", "")),
        "url": str(remote.get("url", "")),
        "sent_by": who,
    }
    if context.found_existing:
        for name in ("name", "type", "start_date", "end_date", "billing_reference"):
            if remote.get(name) not in (None, ""):
                kept[name] = str(remote[name])
    Binding.objects.filter(
        platform=PLATFORM, role=ROLE_CLIENT, entity=Entity.CUSTOMER, object_id=context.record.pk
    ).update(payload=json_safe(kept))


def _account_code_add(customer: Customer, code: str) -> tuple[str, ...]:
    """Seed 004: sending also adds the account code the call charges are matched by."""
    held = AccountCode.objects.filter(customer=customer, platform__code=PlatformCode.CONNECT)
    existing = held.values_list("code", flat=True).first()
    if existing is not None:
        if existing.lower() == code.lower():
            return ()
        return (
            f'The customer keeps its Connect account code "{existing}"; call charges filed '
            f'under the Billing Reference "{code}" will not match until it is changed.',
        )
    try:
        account_code_set(customer=customer, platform_code=PlatformCode.CONNECT, code=code)
    except ValidationError as error:
        return (" ".join(error.messages),)
    return (f'Connect account code "{code}" added for call charge imports.',)
