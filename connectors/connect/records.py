"""The Connect record of a customer (seed 004), as a declaration: its **client**.

A customer → a Connect client, found by its Billing Reference (the customer's id)
before it is made, so a create whose answer was lost is found and bound instead of
being made twice; Connect refuses a second client with the same Billing Reference
(409, naming the client that has it), and that client is bound. Every field is sent
once: after the send Connect is the system of record for the client (seed 004: "You
are still required to add and manage additional information within Connect"), so a
found client is bound as it is, never updated, and a bound one is never sent again.

The engine (``connectors.engine.records.record_push``) hashes, looks up before create
and binds; these say what is sent and how. Send to Connect
(``connectors.connect.services``) pushes it by hand: Connect exports no entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from customers.models import Customer

from ..choices import Entity, FieldRule
from ..engine.records import PlatformRecord
from ..engine.run import SyncContext
from . import mappers
from .client import BillingReferenceTaken

ROLE_CLIENT = "client"


@dataclass
class SendContext(SyncContext):
    """A send's context: the client as Connect answered it, and whether it was there."""

    remote: dict[str, Any] = field(default_factory=dict)
    found_existing: bool = False


def _payload(context: SyncContext | None, customer: Customer) -> mappers.ClientPayload:
    return mappers.client_payload(customer, sent_at=timezone.now())


def _lookup(context: SendContext, customer: Customer, payload: dict[str, Any]) -> str | None:
    found = context.client.clients_by_billing_reference(payload["billing_reference"])
    if not found:
        return None
    context.remote, context.found_existing = found[0], True
    return str(found[0]["id"])


def _create(context: SendContext, customer: Customer, payload: dict[str, Any]) -> str:
    try:
        context.remote = context.client.client_create(payload)
    except BillingReferenceTaken as taken:  # made meanwhile (a create still hanging)
        context.remote = context.client.client_get(taken.client_id)
        context.found_existing = True
    return str(context.remote["id"])


def _update(context: SendContext, customer: Customer, external_id: str, body: dict) -> None:
    raise AssertionError("Connect clients are never updated: every field is one-off.")


CLIENT = PlatformRecord(
    role=ROLE_CLIENT,
    entity=Entity.CUSTOMER,
    payload=_payload,
    lookup=_lookup,
    create=_create,
    update=_update,
    fields={name: FieldRule.ONE_OFF for name in mappers.ClientPayload.__annotations__},
    # No repeated field: a found client is bound as it is, with no update sent.
    sends_changed=True,
    once=True,
)

RECORDS = {Entity.CUSTOMER: (CLIENT,)}
