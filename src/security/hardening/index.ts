// Query hardening: the plugins, their defaults and the yoga options they need.
export { HARDENING_DEFAULTS, hardeningPlugins, resolveHardening, yogaHardening, type HardeningDeps } from './hardening-plugins.js';
export { parseCidr } from './ip-filter.js';
export { CSRF_HEADERS } from './use-csrf.js';
