// The e2e-sentinel project: suites run on a Sentinel-guarded primary with two instances.
process.env.TEST_REDIS_TOPOLOGY = 'sentinel';
