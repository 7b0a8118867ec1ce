# syntax=docker/dockerfile:1
# One image for every Python service (feed_handler, strategy_runner, backtest_orchestrator); the
# compose file picks the command. Build context: the repository root.
# Builder: the `minihft` wheel (scikit-build-core + nanobind C++ extensions) installed into a venv
# with the dependencies pinned by requirements.lock. Runtime: python slim + that venv, non-root.

FROM python:3.11.14-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake ninja-build g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml requirements.lock README.md CMakeLists.txt ./
COPY cpp ./cpp
COPY schemas ./schemas
COPY services ./services
COPY python ./python
# PIP_CONSTRAINT also pins the isolated build environment (scikit-build-core, nanobind).
ENV PIP_CONSTRAINT=/src/requirements.lock PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip wheel --no-deps -w /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install /wheels/minihft-*.whl

FROM python:3.11.14-slim-bookworm AS runtime
RUN useradd --system --uid 10001 --create-home --home-dir /home/minihft --shell /usr/sbin/nologin minihft
COPY --from=build /opt/venv /opt/venv
COPY --chmod=0755 deploy/docker/healthz.sh /usr/local/bin/healthz
# Services listen on 0.0.0.0 inside the container so Prometheus can scrape them over the compose
# network; ports are published on the host's 127.0.0.1 only. The HTTP port itself stays the
# service's own default (MINIHFT_HTTP_PORT / --http-port override it).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MINIHFT_HTTP_HOST=0.0.0.0
WORKDIR /home/minihft
USER minihft
# The port differs per service: set MINIHFT_HEALTH_PORT or override the check (compose does).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["healthz"]
STOPSIGNAL SIGTERM
CMD ["minihft", "--help"]
