import { ConfigError } from "../../src/core/errors.js";

/** Runs `run`, which must throw a ConfigError, and returns that error. */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}
