# Waddle's image built with Docker: the same files, user, entrypoint, health
# check and labels as `make image` (go run ./deploy/image), which needs no
# Docker. The build stage runs that same builder with -rootfs, so the binary's
# flags (static, -trimpath, -s -w, version stamp, embedded tzdata) and the
# files are one definition. Build from the repository root:
#
#   docker build -t waddle:$(git describe --tags --always --dirty) \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) \
#     --build-arg CREATED=$(date -u -d @$(git log -1 --format=%ct) +%Y-%m-%dT%H:%M:%SZ) .
#
# For arm64: docker buildx build --platform linux/arm64 … (the build stage
# cross-compiles on the build machine's own platform).

FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG SOURCE_DATE_EPOCH=0
ARG TARGETARCH=amd64
RUN go run ./deploy/image -rootfs /rootfs -arch "$TARGETARCH" -version "$VERSION" -commit "$COMMIT"

FROM scratch
ARG VERSION=dev
ARG COMMIT=unknown
ARG CREATED=1970-01-01T00:00:00Z
COPY --from=build /rootfs/ /
USER 65532:65532
# In a container, loopback is the container's own: listen on all addresses
# so a published port reaches the server.
ENV LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/waddle", "healthcheck"]
STOPSIGNAL SIGTERM
WORKDIR /
ENTRYPOINT ["/waddle"]
CMD ["serve"]
LABEL org.opencontainers.image.title="waddle" \
      org.opencontainers.image.description="Waddle: a self-hosted community bot platform (hub, API, chat bots, overlays and workflows in one binary)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/waddle/waddle" \
      org.opencontainers.image.licenses="NOASSERTION"
