# layer_sync: one image for the web, worker and beat services of docker-compose.yml.
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
RUN pip install --no-deps . \
    && useradd --system --create-home --home-dir /home/app app \
    && mkdir -p /app/media \
    && chown app /app/media

# Production settings refuse to load without a strong secret and the platform
# URLs; these throwaway values exist only for collectstatic at build time.
RUN DJANGO_SECRET_KEY="build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    ABILLITY_API_URL=http://build.invalid/ \
    AFFINITY_API_URL=http://build.invalid/ \
    CONNECT_API_URL=http://build.invalid/ \
    python manage.py collectstatic --noinput

USER app
EXPOSE 8000
CMD ["gunicorn", "layer_sync.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
