"""Serializers of the customers API: thin adapters over customers.services.

Each create/update builds the model instance and hands it to its service,
which owns every rule; a service's ValidationError comes back to the client
as a JSON 400 on the field it names. Uniqueness validators DRF would derive
from the model's conditional constraints are switched off (`validators = []`):
they would refuse what the services allow, such as making a new default site,
which clears the old default.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from layer_sync.api.exceptions import service_errors

from ..models import (
    AccountType,
    Address,
    Contact,
    ContactType,
    Customer,
    CustomerClass,
    Lead,
    Site,
    SiteAddress,
)
from ..services import (
    address_save,
    contact_save,
    customer_save,
    site_address_delete,
    site_address_save,
    site_address_validate,
    site_save,
)


class LeadSerializer(serializers.ModelSerializer):
    """The lead record every customer has: how it began and when it became a customer."""

    class Meta:
        model = Lead
        fields = ["origin", "converted_at", "conversion_source"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    """A customer or lead. Its name is unique (compared case-insensitively)."""

    customer_class = serializers.SlugRelatedField(
        slug_field="code",
        queryset=CustomerClass.objects.all(),
        required=False,
        allow_null=True,
        help_text="The customer class code.",
    )
    account_type = serializers.SlugRelatedField(
        slug_field="code",
        queryset=AccountType.objects.all(),
        required=False,
        allow_null=True,
        help_text="The account type code (residential, virtual or a custom type): Connect "
        "clients are Residential or Virtual, custom types Residential.",
    )
    lead = LeadSerializer(
        read_only=True,
        allow_null=True,
        help_text="The customer's lead record: how it began and when it was converted.",
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "registered_company_name",
            "stage",
            "status",
            "bill_run",
            "payment_terms",
            "payment_method",
            "sage_account_number",
            "customer_class",
            "account_type",
            "email",
            "telephone",
            "vat_number",
            "lead",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []

    def _user(self):
        request = self.context.get("request")
        return request.user if request is not None else None

    def create(self, validated_data: dict) -> Customer:
        with service_errors():
            return customer_save(customer=Customer(**validated_data), user=self._user())

    def update(self, instance: Customer, validated_data: dict) -> Customer:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        with service_errors():
            return customer_save(customer=instance, user=self._user())


class SiteSerializer(serializers.ModelSerializer):
    """A site of a customer; `integration_id` is generated and read-only."""

    class Meta:
        model = Site
        fields = [
            "id",
            "customer",
            "name",
            "description",
            "is_default",
            "site_ref",
            "integration_id",
            "parent",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "integration_id", "created_at", "updated_at"]
        validators = []

    def create(self, validated_data: dict) -> Site:
        with service_errors():
            return site_save(site=Site(**validated_data))

    def update(self, instance: Site, validated_data: dict) -> Site:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        with service_errors():
            return site_save(site=instance)


class SiteLinkListSerializer(serializers.ListSerializer):
    def to_representation(self, data) -> list:
        # Links have no natural order; by site keeps responses stable.
        return sorted(super().to_representation(data), key=lambda link: link["site"])


class SiteLinkSerializer(serializers.ModelSerializer):
    """One association of the address with a site of the same customer."""

    class Meta:
        model = SiteAddress
        fields = ["site", "is_site_default"]
        list_serializer_class = SiteLinkListSerializer
        validators = []


class AddressSerializer(serializers.ModelSerializer):
    """An address of a customer, with its site associations."""

    sites = SiteLinkSerializer(
        many=True,
        source="site_links",
        required=False,
        help_text="The sites this address is associated with. When given on update, it "
        "replaces the address's associations.",
    )

    class Meta:
        model = Address
        fields = [
            "id",
            "customer",
            "name",
            "address_type",
            "street1",
            "street2",
            "street3",
            "city",
            "county",
            "postcode",
            "is_default",
            "sites",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []

    def validate(self, attrs: dict) -> dict:
        links = attrs.get("site_links")
        if links is not None:
            # A PATCH cannot move the address (address_save refuses it), so the
            # sites must be those of the customer it has.
            customer = self.instance.customer if self.instance else attrs["customer"]
            # Judged as a new address of that customer: the links replace the stored ones.
            candidate = Address(customer=customer)
            errors = []
            seen: set[int] = set()
            for link in links:
                site = link["site"]
                try:
                    site_address_validate(link=SiteAddress(site=site, address=candidate))
                except DjangoValidationError as error:
                    errors += [f'Site {site.pk} "{site}": {message}' for message in error.messages]
                if site.pk in seen:
                    errors.append(f"Site {site.pk} is listed more than once.")
                seen.add(site.pk)
            if errors:
                raise serializers.ValidationError({"sites": errors})
        return attrs

    def _links_replace(self, *, address: Address, links: list[dict]) -> None:
        wanted = {link["site"].pk: link for link in links}
        existing = {link.site_id: link for link in SiteAddress.objects.filter(address=address)}
        for site_id, link in existing.items():
            if site_id not in wanted:
                site_address_delete(link=link)
        for site_id, data in wanted.items():
            link = existing.get(site_id) or SiteAddress(site=data["site"], address=address)
            link.is_site_default = data.get("is_site_default", False)
            with service_errors(rename={"address": "sites", "site": "sites"}):
                site_address_save(link=link)

    @transaction.atomic
    def create(self, validated_data: dict) -> Address:
        links = validated_data.pop("site_links", None)
        with service_errors():
            address = address_save(address=Address(**validated_data))
        if links:
            self._links_replace(address=address, links=links)
        return address

    @transaction.atomic
    def update(self, instance: Address, validated_data: dict) -> Address:
        links = validated_data.pop("site_links", None)
        for field, value in validated_data.items():
            setattr(instance, field, value)
        with service_errors():
            address = address_save(address=instance)
        if links is not None:
            self._links_replace(address=address, links=links)
        return address


class ContactSerializer(serializers.ModelSerializer):
    """A contact at a customer, optionally at one of its sites (of the same customer)."""

    contact_type = serializers.SlugRelatedField(
        slug_field="name",
        queryset=ContactType.objects.all(),
        required=False,
        allow_null=True,
        help_text="The contact type's name (types with the Billing flag mark billing contacts).",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "customer",
            "first_name",
            "last_name",
            "email",
            "telephone",
            "mobile",
            "is_primary",
            "contact_type",
            "site",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []

    def create(self, validated_data: dict) -> Contact:
        with service_errors():
            return contact_save(contact=Contact(**validated_data))

    def update(self, instance: Contact, validated_data: dict) -> Contact:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        with service_errors():
            return contact_save(contact=instance)
