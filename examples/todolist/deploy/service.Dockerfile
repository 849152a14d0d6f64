# The todo data service (the BaaS stage's back end), built from the repository root:
#
#   docker build -f examples/todolist/deploy/service.Dockerfile -t todolist-service .
#
# It listens on 8001 and reads DATABASE_URL, TODO_SECRET and, optionally,
# REDIS_URL, TODO_RATE and TODO_BURST from the environment. One process per
# container holds a pool of 5 connections: scale with containers, and count
# 5 connections for each.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv
COPY pyproject.toml README.md LICENSE ./
COPY faasify ./faasify
RUN pip install '.[baas]' 'uvicorn[standard]>=0.30'
COPY examples/__init__.py ./examples/__init__.py
COPY examples/todolist ./examples/todolist

RUN useradd --system --no-create-home service
USER service
EXPOSE 8001
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/healthz', timeout=2)"]
CMD ["uvicorn", "examples.todolist.service:app", "--host", "0.0.0.0", "--port", "8001", "--proxy-headers", "--forwarded-allow-ips", "*"]
