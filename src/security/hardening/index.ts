// Query hardening: the plugins, their defaults and the yoga options they need.
export {
  HARDENING_DEFAULTS,
  type HardeningDeps,
  hardeningPlugins,
  resolveHardening,
  yogaHardening,
} from './hardening-plugins.js';
export { parseCidr } from './ip-filter.js';
export { CSRF_HEADERS } from './use-csrf.js';
