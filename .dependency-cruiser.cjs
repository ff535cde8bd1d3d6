// @ts-check
/**
 * Layering of src/ (docs/decisions/0003-layering.md). Floors, lowest first; a file may import its own floor
 * and the floors below, never one above:
 *   ground   src/core/ and the shared words: config, errors, duration, logger, redact, version
 *   classify pure: rules and verdicts, no I/O
 *   leaf     the Leaf client (turns Leaf's answers into classify's CredentialEvent)
 *   monitor  queues, state, transitions
 *   webhooks, metrics
 *   http     the admin app and its routes
 *   top      main.ts, cli.ts, redis-connection.ts, local-resources.ts, demo/, sim/, bench/ and every
 *            *.command.ts (a command sits in the folder of what it manages but composes like main)
 * The one exception: lower floors may import the *type* of the injected metrics (src/metrics/metrics.ts).
 */
const GROUND = '^src/(core/|(config|errors|duration|logger|redact|version)\\.ts$)';
const TOP = '^src/((main|cli|redis-connection|local-resources)\\.ts$|(daemon|demo|sim|bench)/)|\\.command\\.ts$';
const COMMAND = '\\.command\\.ts$';
const IO_MODULES =
  '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|dgram|dns|tls|worker_threads|cluster)$|(^|/)node_modules/(ioredis|bullmq|got|express|pino|prom-client)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: break it by moving the shared word down to src/core/ (or the lower floor).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'ground-imports-only-ground',
      severity: 'error',
      comment: 'The ground floor (src/core, config, errors, duration, logger, redact, version) is imported by every layer: it must not import any of them.',
      from: { path: GROUND },
      to: { path: '^src/', pathNot: GROUND },
    },
    {
      name: 'classify-imports-only-ground',
      severity: 'error',
      comment: 'classify is the pure core: it may import only the ground floor (leaf, monitor, webhooks... import classify, not the other way).',
      from: { path: '^src/classify/', pathNot: COMMAND },
      to: { path: '^src/', pathNot: `${GROUND}|^src/classify/` },
    },
    {
      name: 'classify-does-no-io',
      severity: 'error',
      comment: 'classify must stay pure: no file system, network, Redis, queue, HTTP or logger module (rules-file.ts, the loader, is the one reader of a file).',
      from: { path: '^src/classify/', pathNot: `${COMMAND}|^src/classify/rules-file\\.ts$` },
      to: { path: IO_MODULES },
    },
    {
      name: 'leaf-imports-below-monitor',
      severity: 'error',
      comment: 'leaf sits below monitor, webhooks, metrics and http: move the shared word to src/core/, or pass it in.',
      from: { path: '^src/leaf/', pathNot: COMMAND },
      to: { path: `^src/(monitor|webhooks|http)/|${TOP}` },
    },
    {
      name: 'monitor-imports-below-webhooks',
      severity: 'error',
      comment: 'monitor sits below webhooks, metrics and http: it writes the outbox, webhooks read it.',
      from: { path: '^src/monitor/', pathNot: COMMAND },
      to: { path: `^src/(webhooks|http)/|${TOP}` },
    },
    {
      name: 'metrics-only-as-injected-type',
      severity: 'error',
      comment: 'Below the metrics floor, import only the type of the injected metrics (import type); label values belong in src/core/.',
      from: { path: '^src/(classify|leaf|monitor)/', pathNot: COMMAND },
      to: { path: '^src/metrics/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'metrics-knows-only-vocabulary',
      severity: 'error',
      comment: 'metrics is a sink every floor writes to: it may import the ground floor and classify categories only.',
      from: { path: '^src/metrics/' },
      to: { path: '^src/', pathNot: `${GROUND}|^src/(classify|metrics)/` },
    },
    {
      name: 'webhooks-imports-below-http',
      severity: 'error',
      comment: 'webhooks sits below http and the composition root: http routes call webhooks, not the other way.',
      from: { path: '^src/webhooks/', pathNot: COMMAND },
      to: { path: `^src/http/|${TOP}` },
    },
    {
      name: 'http-imports-below-top',
      severity: 'error',
      comment: 'http is built by main (buildAdminApp(deps)): it must not import main, the CLI, commands, demo, sim or bench.',
      from: { path: '^src/http/' },
      to: { path: TOP },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    cache: false,
  },
};
