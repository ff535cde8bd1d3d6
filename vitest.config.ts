import { defineConfig } from 'vitest/config';

/**
 * Tests that run Debian binaries (promtool, prometheus, prometheus-alertmanager/amtool, docker-compose,
 * chromium): `npm run test:ops` runs them; `npm test` needs only Node and a Redis.
 */
const OPS_TESTS = [
  'test/ops/alerting.e2e.test.ts',
  'test/ops/alertmanager.test.ts',
  'test/ops/compose.test.ts',
  'test/ops/prom-stack.integration.test.ts',
  'test/ops/prom-stack.test.ts',
  'test/ops/prometheus-rules.test.ts',
  'test/ops/status-page-browser.e2e.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integration.test.ts', 'test/**/*.e2e.test.ts', ...OPS_TESTS],
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          globalSetup: ['test/helpers/global-setup.ts'],
          include: ['test/**/*.integration.test.ts', 'test/**/*.e2e.test.ts'],
          exclude: OPS_TESTS,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Real Redis and real child processes: keep parallelism modest on a 2-core machine.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'ops',
          sequence: { groupOrder: 2 },
          globalSetup: ['test/helpers/global-setup.ts'],
          include: OPS_TESTS,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
        },
      },
    ],
  },
});
