import { ConfigError } from "../config.js";
import type { AuthConfig } from "./auth-config.js";
import { createAuth, type AuthLog, type Authenticator } from "./interceptor.js";

/** A service's authenticator from its config, or a ConfigError (AUTH=none off loopback) that main prints and exits with. */
export function serverAuth(config: AuthConfig, host: string, log: AuthLog): Authenticator {
  const made = createAuth(config, { host, log });
  if ("error" in made) throw new ConfigError([made.error]);
  return made.value;
}
