# syntax=docker/dockerfile:1
# emr-ami-audit in a container: built on the official Rust image, run on distroless (glibc, libgcc,
# CA certificates for the AWS endpoints, no shell, no package manager) as a non-root user.
#
#   docker build -t emr-ami-audit .
#   docker run --rm emr-ami-audit --help
#   # offline: mount a recording read-only (the scenario is only read)
#   docker run --rm -v "$PWD/mocks:/mocks:ro" emr-ami-audit --replay /mocks/emr-clusters cluster

# The toolchain of Cargo.toml's rust-version is the oldest that builds; the image follows stable 1.x.
FROM rust:1.94-bookworm AS build
WORKDIR /src
# Everything the build needs, nothing else (.dockerignore keeps target/ and mocks/ out).
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
# --locked: the dependencies CI tested, not whatever crates.io has today.
RUN cargo build --release --locked --bin emr-ami-audit \
    && install -D -m 0755 target/release/emr-ami-audit /out/emr-ami-audit

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="emr-ami-audit" \
      org.opencontainers.image.description="Checks AMIs, EMR clusters and launch plans against Amazon EMR's custom AMI constraints" \
      org.opencontainers.image.source="https://github.com/emr-ami-audit/emr-ami-audit" \
      org.opencontainers.image.url="https://github.com/emr-ami-audit/emr-ami-audit" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/emr-ami-audit /usr/local/bin/emr-ami-audit
# distroless's `nonroot` user (65532); reports go to stdout or a mounted directory.
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/emr-ami-audit"]
CMD ["--help"]
