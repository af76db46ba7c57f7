# syntax=docker/dockerfile:1
# Throughline: one static binary (pure-Go SQLite, embedded NATS) on distroless.

FROM golang:1.26-bookworm AS build
# The patched Go (see README: Go version), fetched from the module proxy.
ENV GOTOOLCHAIN=go1.27.3
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/throughline ./cmd/throughline \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/throughline /usr/local/bin/throughline
COPY --from=build --chown=65532:65532 /out/data /data
# Listen on all interfaces inside the container; keep state on the volume.
# NATS on every interface needs a token: give THROUGHLINE_NATS_TOKEN at run
# time (never baked in here); without one `serve` refuses to start, so the
# image never listens unauthenticated.
ENV THROUGHLINE_DATA_DIR=/data \
    THROUGHLINE_ADDR=0.0.0.0:8080 \
    THROUGHLINE_NATS_LISTEN=0.0.0.0:4222
VOLUME ["/data"]
EXPOSE 8080 4222
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/throughline", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/throughline"]
CMD ["serve"]
