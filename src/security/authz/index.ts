// Field authorization: @authenticated and @requiresScopes, enforced by document rewriting.

export { Access, authKeyOf, type Caller, callerOf, SchemaPolicy } from './access.js';
export { patchResult } from './patch.js';
export { type AuthorizationOptions, type Plan, Planner, useAuthorization } from './use-authorization.js';
