// Field authorization: @authenticated and @requiresScopes, enforced by document rewriting.
export { useAuthorization, Planner, type AuthorizationOptions, type Plan } from './use-authorization.js';
export { Access, SchemaPolicy, callerOf, authKeyOf, type Caller } from './access.js';
export { patchResult } from './patch.js';
