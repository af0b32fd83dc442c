import type { Interceptor } from "@connectrpc/connect";
import { ConfigError, optional, type Parsed } from "../config.js";
import { bearerInterceptor, fileTokenSource } from "./tokens.js";

/** How a service proves itself to the API (the Sentinel, the adapters). */
export interface ApiCredentialsConfig {
  /** API_TOKEN_FILE: a bearer token, read again whenever the file changes (a projected service-account token, or npm start's). */
  tokenFile: string | undefined;
}

export function apiCredentialsConfig(env: Record<string, string | undefined>): Parsed<ApiCredentialsConfig> {
  const tokenFile = optional(env, "API_TOKEN_FILE");
  if ("error" in tokenFile) return tokenFile;
  return { value: { tokenFile: tokenFile.value } };
}

/**
 * The interceptors that put the service's credentials on each call to the API. A token file that is
 * missing or empty at startup is a configuration error (the service would only collect refusals).
 */
export function apiCredentials(config: ApiCredentialsConfig): Interceptor[] {
  if (config.tokenFile === undefined) return [];
  try {
    return [bearerInterceptor(fileTokenSource(config.tokenFile))];
  } catch (err) {
    throw new ConfigError([`API_TOKEN_FILE=${JSON.stringify(config.tokenFile)}: ${(err as Error).message}`]);
  }
}
