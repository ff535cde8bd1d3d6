import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { REPO_ROOT, requireBinary, run } from '../helpers/prom-stack.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

describe('docker-compose.yml', () => {
  it('docker-compose config -q accepts it', { timeout: 60_000 }, async () => {
    const dockerCompose = requireBinary('docker-compose');
    const result = await run(dockerCompose, ['-f', COMPOSE_FILE, 'config', '-q']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('runs the whole stack', () => {
    expect(Object.keys(services).sort()).toEqual([
      'alertmanager',
      'credwatch',
      'grafana',
      'prometheus',
      'redis',
      'simulator',
      'webhook-receiver',
    ]);
  });

  it.each(Object.keys(services))('%s has a healthcheck', (name) => {
    expect(services[name]?.healthcheck?.test?.[0]).toBe('CMD');
  });

  it('every depends_on waits for a healthy service that has a healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(condition, `${name} -> ${dependency}`).toBe('service_healthy');
        expect(services[dependency]?.healthcheck, `${dependency} healthcheck`).toBeDefined();
      }
    }
    expect(Object.keys(services['credwatch']?.depends_on ?? {}).sort()).toEqual(['redis', 'simulator', 'webhook-receiver']);
  });

  it('every bind-mounted file or folder exists in the repository', () => {
    const missing: string[] = [];
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] ?? '';
        if (source.startsWith('.') || isAbsolute(source)) {
          if (!existsSync(join(REPO_ROOT, source))) missing.push(source);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('redis persists and never evicts', () => {
    const command = services['redis']?.command?.join(' ') ?? '';
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(services['redis']?.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
  });

  it('the simulator and credwatch run the credwatch image', () => {
    expect(services['simulator']?.build).toBe('.');
    expect(services['simulator']?.command).toEqual(['sim', '--host', '0.0.0.0', '--port', '8090', '--users', '500']);
    expect(services['credwatch']?.build).toBe('.');
    expect(services['credwatch']?.command).toEqual(['start']);
  });

  it('credwatch points at the simulator, Redis and the webhook receiver with names its config accepts', () => {
    const env = services['credwatch']?.environment ?? {};
    expect(env['LEAF_API_URL']).toBe('${LEAF_API_URL:-http://simulator:8090}');
    expect(env['REDIS_URL']).toBe('redis://redis:6379');
    expect(env['CREDWATCH_WEBHOOK_URL']).toBe('http://webhook-receiver:9000/credwatch');
    expect(env['CREDWATCH_POLL_INTERVAL']).toBe('${CREDWATCH_POLL_INTERVAL:-1m}');
    // The defaults compose substitutes must pass credwatch's own configuration parser.
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1')]));
    const config = loadConfig(resolved);
    expect(config.leaf.apiUrl).toBe('http://simulator:8090');
    expect(config.monitor.pollIntervalMs).toBe(60_000);
    expect(config.http.adminToken).toBeTruthy();
  });

  it('prometheus loads the shipped rules and alertmanager the shipped routing', () => {
    expect(services['prometheus']?.volumes).toContain('./prometheus:/etc/prometheus:ro');
    expect(services['prometheus']?.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(services['alertmanager']?.volumes).toContain('./alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro');
    const promConfig = parse(readFileSync(join(REPO_ROOT, 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
      alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    };
    expect(promConfig.scrape_configs.find((j) => j.job_name === 'credwatch')?.static_configs[0]?.targets).toEqual(['credwatch:8080']);
    expect(promConfig.alerting.alertmanagers[0]?.static_configs[0]?.targets).toEqual(['alertmanager:9093']);
  });

  it('grafana is provisioned with the datasource and dashboards and lets anonymous viewers in', () => {
    const grafana = services['grafana'];
    expect(grafana?.environment?.['GF_AUTH_ANONYMOUS_ENABLED']).toBe('true');
    expect(grafana?.environment?.['GF_AUTH_ANONYMOUS_ORG_ROLE']).toBe('Viewer');
    expect(grafana?.volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    const provider = parse(readFileSync(join(REPO_ROOT, 'grafana', 'provisioning', 'dashboards', 'credwatch.yaml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const dashboardsMount = grafana?.volumes?.find((v) => v.startsWith('./grafana/dashboards:'));
    expect(dashboardsMount?.split(':')[1]).toBe(provider.providers[0]?.options.path);
    const datasource = parse(readFileSync(join(REPO_ROOT, 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8')) as {
      datasources: Array<{ type: string; url: string }>;
    };
    expect(datasource.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
  });
});
