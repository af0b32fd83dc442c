export { authConfig, isLoopbackHost, type AuthConfig } from "./auth-config.js";
export {
  ACTOR_HEADER,
  actorFrom,
  ANONYMOUS,
  AUTH_NONE_WARNING,
  checkAuthNone,
  createAuth,
  createJwtAuth,
  createNoAuth,
  principalKey,
  principalOf,
  type AuthDeps,
  type AuthLog,
  type Authenticator,
  type JwtAuthOptions,
} from "./interceptor.js";
export { accessOf, authorize, authorizeMethod, isRole, PERMISSIONS, resolveRoles, type Access, type Decision, type DenyReason, type Principal, type Role, type RoleBindings } from "./roles.js";
export { bearerInterceptor, fileTokenSource, openLocalIssuer, staticToken, type LocalIssuer, type LocalTokenClaims, type TokenSource } from "./tokens.js";
export { createTokenVerifier, type IssuerConfig, type TokenVerifier, type VerifiedToken, type VerifierOptions, type VerifyFailure, type VerifyOutcome } from "./verify.js";
export { serverAuth } from "./server-auth.js";
export { apiCredentials, apiCredentialsConfig, type ApiCredentialsConfig } from "./client-auth.js";
export { observeAuth } from "./observe.js";
