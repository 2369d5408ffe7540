"""Admin for the customers app: customers (and leads), sites, addresses, contacts, quotes
and company settings.

The admin is an adapter: every write goes through `customers.services`,
each form checks its service's rules at validation, and a refusal is a form
error on the field it names, never a server error (see layer_sync.admin).
Actions call services and never make an external HTTP call.
"""

from .customers import (
    VAT_HELP,
    CompanySettingsAdmin,
    ContactTypeAdmin,
    CustomerAdmin,
    CustomerClassAdmin,
    LeadInline,
)
from .quotes import QuoteAdmin, QuoteForm, QuoteLineForm, QuoteLineInline
from .sites import (
    AddressAdmin,
    AddressForm,
    AddressInline,
    ContactAdmin,
    ContactForm,
    ContactInline,
    SiteAddressAdmin,
    SiteAddressForm,
    SiteAddressInline,
    SiteAdmin,
    SiteForm,
    SiteInline,
    site_generated_fields,
)

__all__ = [
    "VAT_HELP",
    "AddressAdmin",
    "AddressForm",
    "AddressInline",
    "CompanySettingsAdmin",
    "ContactAdmin",
    "ContactForm",
    "ContactInline",
    "ContactTypeAdmin",
    "CustomerAdmin",
    "CustomerClassAdmin",
    "LeadInline",
    "QuoteAdmin",
    "QuoteForm",
    "QuoteLineForm",
    "QuoteLineInline",
    "SiteAddressAdmin",
    "SiteAddressForm",
    "SiteAddressInline",
    "SiteAdmin",
    "SiteForm",
    "SiteInline",
    "site_generated_fields",
]
