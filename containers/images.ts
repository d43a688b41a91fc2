/**
 * Every container image the pipeline uses, pinned by digest, in one place.
 * A tag alone can move; the digest cannot.
 *
 * Debian packages are installed **unpinned**, from the suites the pinned image
 * already lists (bookworm, bookworm-updates, bookworm-security), and the
 * installed versions are **recorded** (`dpkg-query`, src/dagger/container-record.ts):
 * the dev report's `container` section and the provenance of `build-release`
 * name each one by version. Pinning `package=version` fails every cold build
 * once Debian replaces that version (the archive keeps only the current one of a
 * suite, and a fresh CI runner always builds cold). A dated snapshot.debian.org
 * archive would keep exact versions, but it freezes the security fixes of
 * openssh-client and git at that date, and every cold build would depend on
 * snapshot.debian.org, which throttles heavy users. Recording keeps the
 * installed versions known without either cost; a cached layer keeps its
 * versions until the engine evicts it, and the record reads that layer.
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

/**
 * The Debian release of {@link RUST_IMAGE} and {@link NODE_IMAGE} (both bookworm), as a package URL's
 * `distro` qualifier names it (`pkg:deb/debian/git@…?distro=debian-12`).
 */
export const DEBIAN_RELEASE = "debian-12";

/** Debian packages added to the toolchain image (valgrind: callgrind's instruction counts), at the suite's current version. */
export const TOOLCHAIN_PACKAGES = ["valgrind"] as const;

/** rustup components added to the toolchain image (the image's own toolchain, so their version follows it). */
export const RUST_COMPONENTS = ["rustfmt", "clippy"] as const;

/**
 * Debian packages the Dagger `rollback` function adds to the toolchain image to run ssh, scp and
 * ssh-keyscan, at bookworm's current version (with its security fixes). Bookworm's OpenSSH is 9.2,
 * which has `scp -s` (SFTP protocol, 8.7 or later), which the transport needs.
 */
export const SSH_CLIENT_PACKAGES = ["openssh-client"] as const;

/**
 * The Node.js image whose `node` and `npm` the Dagger `staging` and `production` functions copy into the
 * toolchain image, to run this package's CLI there: Node 24 (LTS "Krypton", 24.19.0 at this digest) on
 * Debian 12 (bookworm), like the Rust image, so the binary finds the same glibc. Node 20 reached its end of
 * life on 2026-04-30.
 *
 * Source of the digest: docker-library/repo-info `repos/node/remote/24-bookworm-slim.md` at commit
 * e2e97043fc3e24482c19623a66ea8fc74d2546e0 (the official image's own record: index
 * `sha256:a9f5f7c9…`, six platforms, `NODE_VERSION=24.19.0`, Debian bookworm, built 2026-08-25), and
 * public Dockerfiles and tests of other repositories pinning `node:24-bookworm-slim@sha256:a9f5f7c9…` and
 * `node:24.19.0-bookworm-slim@sha256:a9f5f7c9…`. Re-check it with
 * `docker buildx imagetools inspect node:24-bookworm-slim` when bumping Node.
 */
export const NODE_IMAGE = "node:24-bookworm-slim@sha256:a9f5f7c91a432850b2a8a7797adf5eadb6c733ceed61167806cee7ea7fbc29df";

/**
 * Debian packages the `staging` and `production` functions add for the stage's own steps: git (the release
 * tag, the commit), at bookworm's current version.
 */
export const PIPELINE_PACKAGES = ["git"] as const;
