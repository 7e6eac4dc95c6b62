// JWT authentication: the plugin, its key sources and the verification rules.
export { JwtConfigError } from './keys.js';
export { cookieValue, type JwtAuth, useJwtAuth } from './use-jwt-auth.js';
export { SUPPORTED_ALGORITHMS } from './verify.js';
