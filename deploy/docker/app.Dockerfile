# The application image: gateway, action server and campaign worker (one image, three commands; see deploy/k8s).
#   docker build -f deploy/docker/app.Dockerfile -t collections-app .
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# espeak-ng: the embedded TTS; npm: fetches the pinned web chat and Chart.js bundles (scripts/setup.sh's hashes).
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements/app.lock requirements/app.lock
RUN python -m venv .venv && .venv/bin/pip install --require-hashes --no-deps -r requirements/app.lock \
    && .venv/bin/pip check
COPY . .
# Model files and vendored bundles are built into the image, never fetched at run time.
RUN .venv/bin/python -m voice install-models \
    && .venv/bin/python -c "from compliance_filters.classifier import load_classifier; assert load_classifier()" \
    && bash scripts/vendor_bundles.sh \
    && useradd --uid 10001 --no-create-home collections && mkdir -p var && chown -R collections var
USER collections
ENV PATH=/app/.venv/bin:$PATH PYTHONPATH=/app
EXPOSE 8000 5055 9464
CMD ["uvicorn", "--factory", "bot.asgi:create_asgi_app", "--host", "0.0.0.0", "--port", "8000", "--ws-ping-timeout", "60"]
