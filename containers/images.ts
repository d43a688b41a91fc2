/**
 * Every container image the pipeline uses, pinned by digest, in one place.
 * A tag alone can move; the digest cannot.
 */

/**
 * The Rust toolchain image: Rust 1.95.0 on Debian 12 (bookworm), the
 * multi-platform index digest.
 *
 * Source of the digest: public Dockerfiles and release scripts pinning
 * `rust:1.95.0-slim-bookworm@sha256:d7482085…` (one notes "Digest pinned
 * 2026-08-05", another "the index: linux/amd64 among others"). Re-check it
 * with `docker buildx imagetools inspect rust:1.95.0-slim-bookworm` when
 * bumping the toolchain.
 */
export const RUST_IMAGE = "rust:1.95.0-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082";

/** The Rust version of {@link RUST_IMAGE}; part of every cache key, so toolchains never share build output. */
export const RUST_VERSION = "1.95.0";

/** Debian packages added to the toolchain image, pinned to bookworm's exact versions. */
export const TOOLCHAIN_PACKAGES = ["valgrind=1:3.19.0-1"] as const;

/** rustup components added to the toolchain image (the image's own toolchain, so their version follows it). */
export const RUST_COMPONENTS = ["rustfmt", "clippy"] as const;

/**
 * Debian packages the Dagger `rollback` function adds to the toolchain image to run ssh, scp and
 * ssh-keyscan, pinned to an exact bookworm version like {@link TOOLCHAIN_PACKAGES}.
 *
 * Source of the version: `apt-cache policy openssh-client` on a Debian 12 (bookworm) machine
 * (2026-11-27): candidate 1:9.2p1-2+deb12u10 from the bookworm main archive (the point-release
 * pocket, newer than bookworm-security's deb12u9 and bookworm-updates' deb12u7). OpenSSH 9.2
 * has `scp -s` (SFTP protocol, 8.7 or later), which the transport needs. Debian replaces a
 * version in the archive when a newer point release lands: when the install fails with "Version
 * … was not found", re-check with `apt-cache madison openssh-client` and bump it here.
 */
export const SSH_CLIENT_PACKAGES = ["openssh-client=1:9.2p1-2+deb12u10"] as const;

/**
 * The Node.js image whose `node` and `npm` the Dagger `staging` and `production` functions copy into the
 * toolchain image, to run this package's CLI there: Node 20 on Debian 12 (bookworm), like the Rust image, so
 * the binary finds the same glibc.
 *
 * Source of the digest: public Dockerfiles, build tools and tests pinning
 * `node:20-bookworm-slim@sha256:2cf067cf…` (four independent repositories, found 2026-11-27). Re-check it with
 * `docker buildx imagetools inspect node:20-bookworm-slim` when bumping Node.
 */
export const NODE_IMAGE = "node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0";

/**
 * Debian packages the `staging` and `production` functions add for the stage's own steps: git (the release tag,
 * the commit), pinned to bookworm's version. Source: `apt-cache policy git` on Debian 12 (2026-11-27).
 */
export const PIPELINE_PACKAGES = ["git=1:2.39.5-0+deb12u3"] as const;
