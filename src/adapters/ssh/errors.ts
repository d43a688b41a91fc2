/** The errors of the SSH transports: connection, authentication, host-key and transfer problems. */

import { PipelineError } from "../../core/errors.js";
import type { SshHost } from "./host.js";

/** Connection, authentication, host-key or transfer problem; the message names the host. */
export class SshError extends PipelineError {
  override readonly name: string = "SshError";
  /** Name of the host concerned, when there is one. */
  readonly host: string | undefined;

  constructor(message: string, options: { host?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.host = options.host;
  }
}

/** The host presented a key other than the pinned one; nothing was sent to it. */
export class HostKeyMismatch extends SshError {
  override readonly name: string = "HostKeyMismatch";

  /**
   * @param host The host whose key did not match.
   * @param presented SHA256 fingerprints of the keys it presented (empty when none could be read).
   * @param pinned SHA256 fingerprint of the pinned key.
   */
  constructor(
    host: SshHost,
    readonly presented: readonly string[],
    readonly pinned: string,
  ) {
    const seen = presented.length === 0 ? "no key that could be read" : presented.join(", ");
    super(`${host.name} (${host.address}:${host.port}): host key does not match the pin: presented ${seen}; pinned ${pinned}`, {
      host: host.name,
    });
  }
}
