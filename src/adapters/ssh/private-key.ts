/** The deploy key as a secret holds it, checked and made ready for OpenSSH. */
import { SshError } from "./errors.js";

/** Checks the secret looks like a private key (without quoting it) and gives it the final newline OpenSSH needs. */
export function normalisedPrivateKey(privateKey: string): string {
  const text = privateKey.replace(/\r\n?/g, "\n").trim();
  if (!/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z0-9 ]*PRIVATE KEY-----$/.test(text)) {
    throw new SshError("the deploy key is not a PEM-armoured private key (-----BEGIN OPENSSH PRIVATE KEY----- … -----END …)");
  }
  return `${text}\n`;
}
