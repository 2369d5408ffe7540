"""Settings for building the image: ``collectstatic`` in the Dockerfile.

Production settings refuse to load without a strong secret, the platform URLs and a
Celery broker, none of which a build has (or should have: nothing secret goes into an
image layer). Collecting static files needs none of them, only where the files go and
how they are stored, which are production's (a test keeps them equal). The embedded
settings, which refuse nothing, with production's static-file storage.
"""

from .settings import *  # noqa: F403

DEBUG = False
SANDBOX_EMULATORS_ENABLED = False
# As layer_sync.settings_production: hashed, compressed files and their manifest, which
# production's templates read.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
