import { defineConfig } from 'vitest/config'

// The reference engines (Iceberg Java, Spark, Trino) reading and maintaining Floe's tables, and the
// Kafka transport against Apache Kafka's own broker (both come from Maven Central).
// Separate from `npm test` because they need Java and Maven Central and take minutes:
// `npm run test:engines` (README, "Tests"). One file at a time: each starts JVMs.
export default defineConfig({
  test: {
    include: ['test/engines/**/*.test.ts', 'test/log/kafka*.test.ts'],
    fileParallelism: false,
    testTimeout: 20 * 60_000,
    hookTimeout: 30 * 60_000,
  },
})
