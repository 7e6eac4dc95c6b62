// JWT authentication: the plugin, its key sources and the verification rules.
export { JwtConfigError } from './keys.js';
export { useJwtAuth, cookieValue, type JwtAuth } from './use-jwt-auth.js';
export { SUPPORTED_ALGORITHMS } from './verify.js';
