# Builds the core and edge binaries; one image serves both (see docker-compose.yml).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin messenger-core --bin messenger-edge

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app messenger
COPY --from=build /src/target/release/messenger-core /src/target/release/messenger-edge /usr/local/bin/
COPY fake_data.json /app/fake_data.json
WORKDIR /app
USER messenger
EXPOSE 50051 8000
# tini runs as process 1: it passes `docker stop`'s SIGTERM on to the
# messenger (which then shuts down gracefully) and reaps orphans.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["messenger-core", "serve"]
