"""Reconciliation between The Layer and Connect: each customer's client (issue 21:
"Reconciliation on every platform that can be read ... Connect (clients)").

Read with the two GET calls of the contract (docs/connect.md): ``clients/<id>`` for each
bound customer, and ``clients?billing_reference=`` for each customer that holds a Connect
account code but no client here (Connect lists clients by Billing Reference only).

- ``missing_there``: bound here to a client Connect does not have;
- ``reference_differs``: the client's Billing Reference is not the customer's Connect
  account code (its call charges would not match);
- ``name_differs``: the client's name is not the customer's (Connect keeps its own after
  creation);
- ``cancelled_here_live_there``: the customer is cancelled here, its client not ended;
- ``unknown_here``: Connect has a client whose Billing Reference is a customer's account
  code, not linked to that customer here.
"""

from __future__ import annotations

from billing.choices import PlatformCode
from billing.models import AccountCode
from customers.choices import CustomerStatus
from customers.models import Customer

from ..base import ReconcileDifference
from ..choices import Entity
from ..errors import NotFoundError
from ..models import Binding
from .client import ConnectClient
from .constants import PLATFORM
from .mappers import billing_reference
from .records import ROLE_CLIENT

KIND_LABELS = {
    "missing_there": "Linked here, missing in Connect",
    "reference_differs": "Different Billing Reference",
    "name_differs": "Different name",
    "cancelled_here_live_there": "Cancelled here, not ended in Connect",
    "unknown_here": "In Connect, not linked here",
}
# Client statuses that end a client in Connect (docs/shared platforms: Connect's statuses).
ENDED_STATUSES = ("Inactive", "Decommissioned")


def connect_differences(*, client: ConnectClient) -> list[ReconcileDifference]:
    """Every difference between the customers linked to Connect clients and the clients."""
    bindings = {
        b.object_id: b
        for b in Binding.objects.filter(
            platform=PLATFORM, role=ROLE_CLIENT, entity=Entity.CUSTOMER
        ).exclude(external_id="")
    }
    codes = dict(
        AccountCode.objects.filter(platform__code=PlatformCode.CONNECT).values_list(
            "customer_id", "code"
        )
    )
    customers = Customer.objects.in_bulk(set(bindings) | set(codes))
    found: list[ReconcileDifference] = []

    def add(kind: str, customer: Customer, external_id: str, ours: str, theirs: str, why: str):
        found.append(
            ReconcileDifference(
                kind=kind,
                label=KIND_LABELS[kind],
                entity=Entity.CUSTOMER,
                object_id=customer.pk,
                external_id=external_id,
                record=str(customer),
                customer=str(customer),
                layer_value=ours,
                platform_value=theirs,
                message=why,
            )
        )

    for customer_id, binding in sorted(bindings.items()):
        customer = customers.get(customer_id)
        if customer is None:
            continue  # deleted here; its binding goes with it
        client_id = binding.external_id
        try:
            remote = client.client_get(client_id)
        except NotFoundError:
            add(
                "missing_there",
                customer,
                client_id,
                f"linked to client {client_id}",
                "no such client",
                f"{customer} is linked to Connect client {client_id}, which Connect does not "
                "have: send it to Connect again once the link is removed, or correct the link.",
            )
            continue
        reference = codes.get(customer_id) or billing_reference(customer)
        theirs = str(remote.get("billing_reference") or "")
        if theirs.casefold() != reference.casefold():
            add(
                "reference_differs",
                customer,
                client_id,
                reference,
                theirs,
                f"Connect client {client_id} has Billing Reference {theirs or '(none)'}; "
                f"{customer}'s call charges are matched by {reference}: correct one of them.",
            )
        name = str(remote.get("name") or "")
        if name != customer.name.strip():
            add(
                "name_differs",
                customer,
                client_id,
                customer.name.strip(),
                name,
                f"Connect client {client_id} is named {name}; the customer is "
                f"{customer.name.strip()} here. Connect keeps its own after creation: rename "
                "it there if it should follow.",
            )
        status = str(remote.get("status") or "")
        if customer.status == CustomerStatus.CANCELLED and status not in ENDED_STATUSES:
            add(
                "cancelled_here_live_there",
                customer,
                client_id,
                "cancelled",
                status or "(no status)",
                f"{customer} is cancelled here, but Connect client {client_id} is {status}: "
                "end it in Connect.",
            )
    for customer_id, code in sorted(codes.items()):
        customer = customers.get(customer_id)
        if customer_id in bindings or customer is None:
            continue
        for remote in client.clients_by_billing_reference(code):
            client_id = str(remote["id"])
            add(
                "unknown_here",
                customer,
                client_id,
                f"account code {code}, no client linked",
                f"client {client_id} ({remote.get('name', '')})",
                f"Connect client {client_id} has {customer}'s account code {code} as its "
                "Billing Reference, but the customer is not linked to it here: Send to "
                "Connect links it (it finds the client by its reference).",
            )
    return found
