"""The roles of Abillity's records of customers, sites and contacts (a binding's role)."""

ROLE_COMPANY = "company"
ROLE_BILLING_SITE = "billing_site"  # on the customer: the Abillity site invoiced for all others
ROLE_SITE = "site"
ROLE_BILLING_INFORMATION = "billing_information"  # on a site: its one-off billing details
ROLE_CONTACT = "site_contact"
