"""API tokens issued before tokens were hashed (DRF's ``authtoken_token``: keys in plain
text, never expiring) become hashed, expiring tokens, and the plain table is dropped.

Each key is kept working: its SHA-512 digest and prefix are stored as a knox token of
the same user and creation time, expiring ``API_TOKEN_TTL_DAYS`` after this migration
runs, so outside clients are not cut off by the upgrade and have that long to be given
a new token. The plain keys are then gone from the database (the table is dropped), and
so are DRF's token admin permissions (their content type) and migration records. On a
database that never had DRF's table, this does nothing. docs/security.md explains it.
"""

from datetime import UTC, timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

PLAIN_TABLE = "authtoken_token"


def hash_plain_drf_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if PLAIN_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {PLAIN_TABLE}")  # noqa: S608
        rows = cursor.fetchall()
    expiry = timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS)
    for key, user_id, created in rows:
        digest = hash_token(key)
        AuthToken(
            digest=digest,
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=user_id,
            expiry=expiry,
        ).save(force_insert=True)
        if created is not None:  # auto_now_add set it to now; keep when it was issued
            if timezone.is_naive(created):
                created = created.replace(tzinfo=UTC)
            AuthToken.objects.filter(digest=digest).update(created=created)
    schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(PLAIN_TABLE)}")
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="authtoken").delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [
        ("knox", "0009_extend_authtoken_field"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        migrations.RunPython(hash_plain_drf_tokens, migrations.RunPython.noop, elidable=False),
    ]
