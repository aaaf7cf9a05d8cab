// Four projects: unit tests beside the code; integration, end-to-end and fault tests under test/.
// NestJS 12 ships ES modules, which Jest 30 on Node 20 cannot require: @swc/jest turns them
// (and the TypeScript) into CommonJS.
const transform = {
  '^.+\\.(t|j)s$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
};
const transformIgnorePatterns = [
  '/node_modules/(?!(@nestjs|file-type|strtok3|token-types|@tokenizer|uint8array-extras|@borewit)/)',
];
const common = { transform, transformIgnorePatterns, testEnvironment: 'node' };
const suites = (names) => names.map((suite) => `<rootDir>/test/e2e/${suite}.e2e-spec.ts`);
// The end-to-end suites that run again on Redis Cluster and Sentinel.
const scaledSuites = suites([
  'routing',
  'feeds',
  'delivery',
  'search',
  'conversations',
  'safety',
  'retention',
  'topic-catchup',
  'delivery-feeds',
  'idempotency',
  'health',
  'delivery-failures',
]);
// The rest, the longest (half a minute to a minute each), on Cluster only, where keys and
// channels spread over slots and nodes, to keep the whole run short; each passed on Sentinel.
const clusterSuites = suites(['request-reply', 'mcp', 'security', 'provenance', 'console-api']);

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    // Real Redis and service processes, faults injected with kill -9, SIGSTOP and restarts.
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'] },
    // The scaledSuites again, on Redis Cluster and on Sentinel, mostly with two instances (HTTP
    // on one, WebSockets on the other).
    ...['cluster', 'sentinel'].map((topology) => ({
      ...common,
      displayName: `e2e-${topology}`,
      testMatch: topology === 'cluster' ? [...scaledSuites, ...clusterSuites] : scaledSuites,
      setupFiles: [`<rootDir>/test/setup/${topology}.ts`],
    })),
    // Cluster and Sentinel failures, slot spread and many instances.
    { ...common, displayName: 'scale', testMatch: ['<rootDir>/test/scale/**/*.scale-spec.ts'] },
  ],
  testTimeout: 30_000,
  // Two suites at a time, each in a worker process that is replaced once its heap outgrows
  // the limit: run in one process, the suites' leftovers slowed the later ones (the fuzz
  // suite took 94 s there against 35 s in a fresh worker), and most suites spend their time
  // waiting on the services and Redis servers they start.
  maxWorkers: 2,
  workerIdleMemoryLimit: '800MB',
};
