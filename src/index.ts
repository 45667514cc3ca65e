export { createCognitoM2M } from "./create.js";
export type {
  CognitoM2M,
  MachineProcedureBuilder,
  ScopeBuilderOptions,
  ScopeMapBuilderOptions,
} from "./create.js";
export {
  AuthenticationError,
  AuthorizationError,
  ClientNotAllowedError,
  CognitoM2MError,
  ConfigurationError,
  ExpiredTokenError,
  InsufficientScopeError,
  InvalidTokenError,
  JwksUnavailableError,
  MalformedAuthorizationHeaderError,
  MissingTokenError,
  UserMappingError,
  toTRPCError,
} from "./errors.js";
export type { CognitoM2MErrorCode, CognitoTRPCErrorCode, ScopeMatch } from "./errors.js";
export type { CognitoErrorData, CognitoErrorDataFields } from "./http/error-data.js";
export { composeResponseMeta } from "./http/response-meta.js";
export type { ResponseMetaFunction, ResponseMetaOptions } from "./http/response-meta.js";
export type { Logger } from "./logger.js";
export type {
  ActivityTrackingOptions,
  CognitoM2MOptions,
  ContextKeyOptions,
  TokenCacheOptions,
  TokenVerifier,
  VerifierOptions,
} from "./options.js";
export { AnonymousUser, ServicePrincipal, ServicePrincipalProxyUser } from "./principal.js";
export type { ClaimValue, Claims } from "./principal.js";
export type {
  AuthenticatedContext,
  CognitoM2MContext,
  CognitoProcedureMeta,
  ContextUser,
} from "./trpc/context.js";
export {
  getClientId,
  getScopes,
  getServicePrincipal,
  isMachineAuthenticated,
} from "./trpc/helpers.js";
export type { Policy, ScopeMaps } from "./trpc/policy.js";
export { auditRouter } from "./trpc/audit.js";
export type { AuditRouterOptions, ProcedureAudit } from "./trpc/audit.js";
