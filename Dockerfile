# syntax=docker/dockerfile:1
# Frontline API image. With compose.yaml it talks to a postgis/postgis container through DATABASE_URL;
# the embedded cluster of `make run` is not part of the image.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md LICENSE ./
RUN mkdir app && touch app/__init__.py && pip install . && pip uninstall -y frontline
COPY app ./app
RUN pip install --no-deps .

FROM python:3.11-slim-bookworm
RUN useradd --system --create-home --uid 10001 frontline
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/frontline
COPY alembic.ini docker-entrypoint.sh ./
COPY migrations ./migrations
COPY geodata ./geodata
ENV PATH=/opt/venv/bin:$PATH \
    FRONTLINE_HOST=0.0.0.0 \
    FRONTLINE_PORT=8000 \
    FRONTLINE_DATA_DIR=/home/frontline/data \
    FRONTLINE_MIGRATIONS_DIR=/srv/frontline/migrations \
    FRONTLINE_GEODATA_DIR=/srv/frontline/geodata
USER frontline
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
ENTRYPOINT ["/srv/frontline/docker-entrypoint.sh"]
CMD ["frontline", "serve"]
