/** The secrets the commands read from their environment, by name. */

/** Environment variable holding the signing key (a production secret). */
export const SIGNING_KEY_ENV = "RELEASE_SIGNING_KEY";

/** Environment variable holding the deploy key (an OpenSSH private key; a secret of test and production). */
export const SSH_KEY_ENV = "SSH_DEPLOY_KEY";
