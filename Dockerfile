# syntax=docker/dockerfile:1
# Multi-stage build: a static binary in a distroless image, running as non-root.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, so that code changes do not re-download modules.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sportello ./cmd/sportello \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sportello /sportello
COPY --from=build --chown=65532:65532 /out/data /data
ENV SPORTELLO_DATA=/data \
    SPORTELLO_HTTP_ADDR=:8080
VOLUME /data
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 CMD ["/sportello", "health"]
ENTRYPOINT ["/sportello"]
CMD ["serve"]
