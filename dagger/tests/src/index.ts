/**
 * A module that installs shriven-pipeline (by local path) and uses it: the
 * example to copy into your own repository's Dagger module.
 */
import { argument, type Directory, dag, func, object } from "@dagger.io/dagger";

/**
 * Runs shriven-pipeline on this repository's example workspace.
 */
@object()
export class Tests {
  /**
   * The dev stage of shriven-pipeline on the example trading engine; fails when a gate fails.
   *
   * Example: dagger -m dagger/tests call dev-on-example
   *
   * @param workspace The Cargo workspace to check (default: examples/trading-engine)
   */
  @func()
  async devOnExample(@argument({ defaultPath: "/examples/trading-engine" }) workspace: Directory): Promise<string> {
    return dag.shrivenPipeline().dev({ source: workspace });
  }

  /**
   * The dev stage's report on the example trading engine, without failing.
   *
   * Example: dagger -m dagger/tests call report-on-example export --path=./report
   *
   * @param workspace The Cargo workspace to check (default: examples/trading-engine)
   */
  @func()
  reportOnExample(@argument({ defaultPath: "/examples/trading-engine" }) workspace: Directory): Directory {
    return dag.shrivenPipeline().devReport({ source: workspace });
  }

  /**
   * The versions of the tools in shriven-pipeline's toolchain, built on its container.
   *
   * Example: dagger -m dagger/tests call toolchain-versions
   */
  @func()
  async toolchainVersions(): Promise<string> {
    return dag
      .shrivenPipeline()
      .toolchain()
      .withExec(["sh", "-c", "cargo --version && rustfmt --version && cargo clippy --version && valgrind --version"])
      .stdout();
  }
}
