import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Kafka tests run a broker from Maven Central: engines suite (vitest.engines.config.ts).
    exclude: ['test/engines/**', 'test/log/kafka*.test.ts', '**/node_modules/**'],
    // Tests share one PostgreSQL server and spawn S3 servers and Floe processes;
    // two cores on CI, so keep file parallelism modest.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
