# The Rasa image: Rasa 3.6 on Python 3.10 with the project's NLU components, policies and gateway channel, and a
# trained model baked in (bash scripts/train.sh prints its path; pass it as MODEL).
#   docker build -f deploy/docker/rasa.Dockerfile --build-arg MODEL=models/collections-<hash>.tar.gz -t collections-rasa .
FROM python:3.10-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 RASA_TELEMETRY_ENABLED=false
WORKDIR /app
COPY requirements/rasa.lock requirements/rasa.lock
RUN python -m venv .venv-rasa && .venv-rasa/bin/pip install --require-hashes --no-deps -r requirements/rasa.lock
COPY config.yml domain.yml credentials.yml endpoints.redis.yml ./
COPY nlu nlu
COPY dialogue dialogue
COPY chinese_text chinese_text
COPY english_text english_text
COPY rasa_channels rasa_channels
COPY rasa_runtime rasa_runtime
COPY scripts/run_rasa.py scripts/run_rasa.py
ARG MODEL
COPY ${MODEL} models/model.tar.gz
RUN useradd --uid 10001 --create-home collections
USER collections
ENV PATH=/app/.venv-rasa/bin:$PATH PYTHONPATH=/app
EXPOSE 5005
# The token arrives in COLLECTIONS_RASA_TOKEN (run_rasa.py adds it to Rasa's arguments inside the process).
CMD ["python", "scripts/run_rasa.py", "run", "--enable-api", "--port", "5005", "--model", "models/model.tar.gz", \
     "--endpoints", "endpoints.redis.yml", "--credentials", "credentials.yml"]
