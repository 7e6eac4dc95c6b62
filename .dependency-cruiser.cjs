// The dependency rule of docs/ARCHITECTURE.md ("Rooms and arrows"), checked by `npm run lint`.
// Each folder of src/ is a room; `allowed` lists every arrow that may exist between rooms (and
// what a room may take from npm), so any other arrow fails, which also makes a cycle between
// rooms impossible. The named `forbidden` rules say why the arrows that matter most are absent.

/** room -> the rooms it may import (besides itself). */
const ARROWS = {
  errors: [],
  upstream: [],
  redis: [],
  templates: ['errors'],
  config: ['errors', 'templates', 'upstream'],
  'request-context': ['upstream'],
  connectors: ['errors', 'templates', 'config', 'upstream', 'request-context'],
  compose: ['errors', 'templates', 'config', 'upstream', 'request-context', 'connectors'],
  security: ['errors', 'config', 'request-context', 'redis'],
  protections: ['errors', 'request-context'],
  caching: ['errors', 'request-context', 'upstream', 'redis'],
  observability: ['errors', 'upstream', 'security'],
  'proto-import': ['connectors'],
  'openapi-import': ['errors'],
  server: [
    'errors',
    'redis',
    'config',
    'upstream',
    'request-context',
    'connectors',
    'compose',
    'security',
    'observability',
    'protections',
    'caching',
  ],
  cli: [
    'errors',
    'redis',
    'config',
    'upstream',
    'compose',
    'security',
    'server',
    'proto-import',
    'openapi-import',
    'connectors',
    'caching',
  ],
};

const room = (name) => (name === 'errors' ? '^src/errors\\.ts$' : `^src/${name}/`);
const anyOf = (names) => `(${names.map(room).join('|')})`;

module.exports = {
  forbidden: [
    {
      name: 'upstream-knows-no-graphql',
      comment:
        'src/upstream (pools, balancers, health, transports) knows nothing of GraphQL, schema files or connectors: connectors use pools, never the other way round.',
      severity: 'error',
      from: { path: '^src/upstream/' },
      to: {
        path: ['^src/(?!upstream/)', '^node_modules/(graphql|graphql-yoga|@graphql-tools|@envelop|dataloader|@opentelemetry)/'],
      },
    },
    {
      name: 'tracing-costs-nothing-when-off',
      comment:
        'OpenTelemetry is loaded only when --otlp-endpoint is set: only src/observability/tracing/ imports it, and nothing imports that folder but by a dynamic import (src/server/gateway.ts) or for its types.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/observability/tracing/' },
      to: {
        path: ['^node_modules/@opentelemetry/', '^src/observability/tracing/'],
        dependencyTypesNot: ['dynamic-import', 'type-only'],
      },
    },
    {
      name: 'security-is-plugins',
      comment:
        'src/security is yoga/envelop plugins: it never reaches into the compiler, the connectors, the pools or the server that assembles it.',
      severity: 'error',
      from: { path: '^src/security/' },
      to: { path: '^src/(compose|connectors|upstream|server|observability|cli)/' },
    },
    {
      name: 'observability-is-plugins',
      comment: 'src/observability reads the serving state through its own ServingState interface, never the server.',
      severity: 'error',
      from: { path: '^src/observability/' },
      to: { path: '^src/(server|compose|connectors|cli)/' },
    },
    {
      name: 'caching-is-a-plugin',
      comment:
        'src/caching is the response cache plugin and the cache stores: it reads the served schema and the request context, never the compiler, the connectors, the security plugins or the server.',
      severity: 'error',
      from: { path: '^src/caching/' },
      to: { path: '^src/(compose|connectors|config|security|server|observability|cli)/' },
    },
    {
      name: 'no-cycles',
      comment: 'No module imports itself through others (type-only imports inside one room are allowed).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-stands-alone',
      comment: 'The gateway does not import its tests, benchmarks, demo or scripts.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|demo|scripts)/' },
    },
  ],
  allowed: [
    ...Object.entries(ARROWS).map(([from, to]) => ({
      from: { path: room(from) },
      to: { path: to.length ? [room(from), anyOf(to), '^node_modules/', '^node:'] : [room(from), '^node_modules/', '^node:'] },
    })),
    { from: { path: '^src/' }, to: { dependencyTypes: ['core'] } },
    { from: { pathNot: '^src/' }, to: {} },
  ],
  allowedSeverity: 'error',
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    exclude: { path: '^dist/' },
  },
};
