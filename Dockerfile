# CareIntro for teams not on Heroku: one image runs `web`, `worker` or `release`
# (see compose.yaml). Dependencies come from the pinned requirements.txt.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PORT=3000
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY templates ./templates
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 careintro
USER careintro

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
CMD ["careintro", "serve", "--no-worker"]
