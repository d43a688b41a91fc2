/**
 * The Rust toolchain containers every Dagger step runs in: the pinned image
 * with rustfmt, clippy and valgrind, and cargo's download caches.
 *
 * Cargo's download lock lives in CARGO_HOME, outside the two mounted cache
 * folders, so cargo processes in different containers never see each other's
 * lock. The caches are therefore written by one command only — `cargo fetch`
 * holding {@link DOWNLOAD_LOCK}, a `flock` on a file inside the registry volume
 * that every container sees — and the steps run afterwards with the caches
 * mounted `offline` ({@link withCargoCaches}): cargo only reads them (`CARGO_NET_OFFLINE`).
 *
 * Every mount of the two volumes is `SHARED`, on purpose. The engine's
 * `LOCKED` mode (dagger/dagger `internal/buildkit/solver/llbsolver/mounts/mount.go`,
 * `getRefCacheDir`) holds the volume for a whole exec, which would run the
 * dev stage's steps one at a time; and while a `LOCKED` exec holds it, a
 * `SHARED` mount that finds no other sharer gets a new, empty directory for
 * the same key — an offline step of another run would then find no crates.
 * With one mode for the key, all containers that run at once share one
 * directory, and `flock` orders the writers.
 */
import { CacheSharingMode, type CacheVolume, type Container, dag } from "@dagger.io/dagger";
import { aptInstall } from "./debian-packages.js";
import { RUST_COMPONENTS, RUST_IMAGE, RUST_VERSION, TOOLCHAIN_PACKAGES } from "./images.js";

/** Where cargo keeps downloaded crates; mounted as a cache (never all of CARGO_HOME, which holds the binaries). */
export const CARGO_REGISTRY = "/usr/local/cargo/registry";

/** Where cargo keeps git dependencies; mounted as a cache. */
export const CARGO_GIT = "/usr/local/cargo/git";

/**
 * The lock every download into the two caches holds (`flock`): a file in the registry volume, so it is
 * the same file in every container that mounts the volume, unlike cargo's own lock in CARGO_HOME.
 */
export const DOWNLOAD_LOCK = `${CARGO_REGISTRY}/.shriven-download.lock`;

/** How long the one download of a run may take, in seconds, waiting for another run's download included. */
export const FETCH_TIMEOUT_SECONDS = 900;

/** Where the workspace is mounted. */
export const WORKSPACE_DIR = "/src";

/** Name of a cache volume, scoped to this toolchain (and, for build output, to one workspace). */
export function cacheKey(name: string, workspace?: string): string {
  return ["shriven", name, `rust-${RUST_VERSION}`, ...(workspace === undefined ? [] : [workspace])].join("-");
}

/** A cache volume for `name` (see {@link cacheKey}). */
export function cacheVolume(name: string, workspace?: string): CacheVolume {
  return dag.cacheVolume(cacheKey(name, workspace));
}

/** The pinned Rust image with rustfmt, clippy and valgrind, colours off, no cache mounted. */
export function toolchainImage(): Container {
  return dag
    .container()
    .from(RUST_IMAGE)
    .withExec(["rustup", "component", "add", ...RUST_COMPONENTS])
    .withExec(aptInstall(TOOLCHAIN_PACKAGES))
    .withEnvVariable("CARGO_TERM_COLOR", "never")
    .withWorkdir(WORKSPACE_DIR);
}

/**
 * How a container uses cargo's download caches: `online` may download (the one fetch of a run, and the
 * toolchain other modules build on); `offline` only reads them (`CARGO_NET_OFFLINE=true`), so any number of
 * such containers run at once, once the workspace's dependencies are fetched ({@link fetchArgv}).
 */
export type CargoCacheAccess = "online" | "offline";

/** `container` with cargo's registry and git caches mounted, shared (see the top of this file), used as `access` says. */
export function withCargoCaches(container: Container, access: CargoCacheAccess): Container {
  const mounted = container
    .withMountedCache(CARGO_REGISTRY, cacheVolume("cargo-registry"), { sharing: CacheSharingMode.Shared })
    .withMountedCache(CARGO_GIT, cacheVolume("cargo-git"), { sharing: CacheSharingMode.Shared });
  return access === "offline" ? mounted.withEnvVariable("CARGO_NET_OFFLINE", "true") : mounted;
}

/**
 * The toolchain with cargo's caches, online: the container of the one download ({@link fetchArgv}) and the
 * toolchain other modules build on. Cargo run in it outside {@link DOWNLOAD_LOCK} downloads unordered with
 * other containers: run such a container alone, or fetch under the lock first.
 */
export function rustToolchain(): Container {
  return withCargoCaches(toolchainImage(), "online");
}

/**
 * The one download of a run, in {@link rustToolchain} with the workspace mounted: `cargo fetch` (every
 * dependency of every target, for all platforms) holding {@link DOWNLOAD_LOCK}, so downloads of runs
 * that overlap take turns; bounded by {@link FETCH_TIMEOUT_SECONDS}.
 */
export function fetchArgv(): string[] {
  return ["timeout", "--kill-after=10", String(FETCH_TIMEOUT_SECONDS), "flock", DOWNLOAD_LOCK, "cargo", "fetch"];
}
