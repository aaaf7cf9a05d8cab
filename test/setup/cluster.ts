// The e2e-cluster project: suites run on a three-primary Redis Cluster with two instances.
process.env.TEST_REDIS_TOPOLOGY = 'cluster';
