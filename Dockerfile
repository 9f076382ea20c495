# nines in a container: a static binary (pure-Go SQLite, no cgo) on an empty base image, run
# as an unprivileged user, its state in a volume.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) -t nines .
#   docker run -d -p 8080:8080 -v nines-data:/var/lib/nines -v $PWD/nines.yaml:/etc/nines/nines.yaml:ro nines
#
# See docs/deploy.md. The build command below is the one scripts/release runs, and the tests
# run it too (e2e/install_test.go).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/nines ./cmd/nines
# The data directory, owned by the user nines runs as, to seed the volume with.
RUN mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/nines /usr/local/bin/nines
COPY --from=build --chown=65532:65532 /out/data /var/lib/nines
USER 65532:65532
ENV NINES_DATA=/var/lib/nines \
    NINES_CONFIG=/etc/nines/nines.yaml \
    NINES_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/nines"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/nines", "health"]
ENTRYPOINT ["/usr/local/bin/nines"]
CMD ["serve"]
