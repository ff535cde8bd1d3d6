import { describe, expect, it } from 'vitest';
import { exposedMetricTypes, isExposed, isRecordingRuleName, promqlMetricNames } from '../helpers/promql-metrics.js';

describe('promqlMetricNames', () => {
  it.each([
    ['up{job="credwatch"} == 0', ['up']],
    ['absent(up{job="credwatch"})', ['up']],
    ['sum by (provider, category) (credwatch_credentials{instance=~"$instance", provider=~"$provider"})', ['credwatch_credentials']],
    ['sum(rate(credwatch_polls_total[5m])) by (outcome)', ['credwatch_polls_total']],
    [
      'histogram_quantile(0.95, sum by (le) (rate(credwatch_leaf_request_duration_seconds_bucket{instance=~"${instance}"}[$__rate_interval])))',
      ['credwatch_leaf_request_duration_seconds_bucket'],
    ],
    ['increase(credwatch_credential_transitions_total{to="x"}[1h] offset 1d) > 1e3', ['credwatch_credential_transitions_total']],
    ['a / on (provider) group_left (category) b unless ignoring (x) c', ['a', 'b', 'c']],
    ['label_replace(credwatch:credentials:max, "action", "connect", "category", "not_connected")', ['credwatch:credentials:max']],
    ['{__name__="credwatch_build_info", version!=""}', ['credwatch_build_info']],
    ['time() - max(credwatch_sweep_last_success_timestamp_seconds) > 2700', ['credwatch_sweep_last_success_timestamp_seconds']],
    ['deriv(x[30m:1m]) > 0 and min_over_time(x[30m]) > 0 or vector(0)', ['x']],
    ['count_values("version", credwatch_build_info) # comment naming not_a_metric', ['credwatch_build_info']],
    ['max by (endpoint) (credwatch_webhook_endpoint_disabled) == bool 1', ['credwatch_webhook_endpoint_disabled']],
    ['sum([[metric]]) + 0x1F + 1h30m', []],
  ])('%s', (expr, expected) => {
    expect(promqlMetricNames(expr)).toEqual(expected);
  });

  it('rejects unbalanced brackets instead of guessing', () => {
    expect(() => promqlMetricNames('sum(rate(x{a="b"[5m]))')).toThrow(/unbalanced/);
  });
});

describe('exposition helpers', () => {
  const exposition = [
    '# HELP a_seconds help',
    '# TYPE a_seconds histogram',
    'a_seconds_bucket{le="1"} 0',
    '# TYPE b_total counter',
    '# TYPE c summary',
    '# TYPE d gauge',
  ].join('\n');
  const types = exposedMetricTypes(exposition);

  it('reads metric types', () => {
    expect([...types]).toEqual([
      ['a_seconds', 'histogram'],
      ['b_total', 'counter'],
      ['c', 'summary'],
      ['d', 'gauge'],
    ]);
  });

  it('maps histogram and summary series back to their metric', () => {
    expect(['a_seconds_bucket', 'a_seconds_sum', 'a_seconds_count', 'b_total', 'c_sum', 'd'].every((n) => isExposed(n, types))).toBe(true);
    expect(['c_bucket', 'd_count', 'b', 'b_total_sum', 'e'].some((n) => isExposed(n, types))).toBe(false);
  });

  it('recognises recording-rule names', () => {
    expect(isRecordingRuleName('credwatch:credentials:max')).toBe(true);
    expect(isRecordingRuleName('credwatch_credentials')).toBe(false);
  });
});
