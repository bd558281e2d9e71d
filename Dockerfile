# syntax=docker/dockerfile:1
# devgate's image: one static binary on distroless, running as non-root.
# Build with `make image` where a container engine exists.

ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
# Modules first: this layer is reused while only the sources change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/devgate ./cmd/devgate

# static: no libc needed (CGO_ENABLED=0); nonroot: uid/gid 65532, which the
# chart's securityContext also asks for.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/devgate /devgate
USER 65532:65532
ENTRYPOINT ["/devgate"]
CMD ["serve", "--config=/etc/devgate/config.yaml"]
