# layer_sync: one image for every service of docker-compose.yml (the web app, Celery
# workers and beat in production; the demo). .ci/image_build_check.py proves its build.
FROM python:3.11-slim

# PYTHONPATH=/app: the project is imported from /app, not from a copy in
# site-packages, so the settings find templates/ and staticfiles/ beside it.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=layer_sync.settings_production

WORKDIR /app

# Dependencies first (from pyproject.toml's pins), so a code change does not
# reinstall them.
COPY pyproject.toml README.md ./
COPY layer_sync/__init__.py layer_sync/
COPY customers/__init__.py customers/
COPY billing/__init__.py billing/
COPY connectors/__init__.py connectors/
RUN pip install .

COPY . .
RUN pip install --no-deps .

# Static files, collected with production's storage. Production settings refuse to load
# without a secret, the platform URLs and a broker, which a build has none of:
# layer_sync.settings_build needs nothing.
RUN DJANGO_SETTINGS_MODULE=layer_sync.settings_build python manage.py collectstatic --noinput

# The unprivileged user the services run as; media/ (uploads) and data/ (the demo's
# SQLite database) are its, and compose mounts volumes there.
RUN useradd --system --create-home --home-dir /home/app app \
    && mkdir -p /app/media /app/data \
    && chown app /app/media /app/data

USER app
EXPOSE 8000
CMD ["gunicorn", "layer_sync.wsgi", "-c", "python:layer_sync.server.gunicorn_config", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
