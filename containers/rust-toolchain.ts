/**
 * The Rust toolchain container every Dagger step runs in: the pinned image,
 * rustfmt, clippy and valgrind, and cargo's download caches.
 */
import { type CacheVolume, type Container, dag } from "@dagger.io/dagger";
import { RUST_COMPONENTS, RUST_IMAGE, RUST_VERSION, TOOLCHAIN_PACKAGES } from "./images.js";

/** Where cargo keeps downloaded crates; mounted as a cache (never all of CARGO_HOME, which holds the binaries). */
export const CARGO_REGISTRY = "/usr/local/cargo/registry";

/** Where cargo keeps git dependencies; mounted as a cache. */
export const CARGO_GIT = "/usr/local/cargo/git";

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

/**
 * The toolchain container: the pinned Rust image with rustfmt, clippy and
 * valgrind, cargo's registry and git caches mounted, colours off.
 */
export function rustToolchain(): Container {
  return dag
    .container()
    .from(RUST_IMAGE)
    .withExec(["rustup", "component", "add", ...RUST_COMPONENTS])
    .withExec([
      "sh",
      "-c",
      `apt-get update && apt-get install -y --no-install-recommends ${TOOLCHAIN_PACKAGES.join(" ")} && rm -rf /var/lib/apt/lists/*`,
    ])
    .withMountedCache(CARGO_REGISTRY, cacheVolume("cargo-registry"))
    .withMountedCache(CARGO_GIT, cacheVolume("cargo-git"))
    .withEnvVariable("CARGO_TERM_COLOR", "never")
    .withWorkdir(WORKSPACE_DIR);
}
