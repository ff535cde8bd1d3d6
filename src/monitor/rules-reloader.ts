import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { createClassifier, loadRulesFile, type Classifier } from '../classify/rules-file.js';
import type { Rule } from '../classify/rules.js';
import type { Logger } from '../logger.js';
import type { ClassifierMetrics } from '../metrics/classifier-metrics.js';

/** What a reload did: the outcome, and which operator rule ids were added, removed or changed. */
export type RulesReloadResult =
  | { outcome: 'reloaded'; rules: number; changedRuleIds: string[] }
  | { outcome: 'unchanged'; rules: number; changedRuleIds: [] }
  | { outcome: 'refused'; error: string };

/** Dependencies of the reloader. */
export interface RulesReloaderOptions {
  file: string | undefined;
  initialRules: readonly Rule[];
  logger: Logger;
  /** How often the file's mtime is checked (fs.watchFile polls: works on every filesystem and in containers). */
  pollIntervalMs?: number;
  /** Called after a successful reload that changed something (re-assessment). Errors are logged. */
  onReloaded?: (result: Extract<RulesReloadResult, { outcome: 'reloaded' }>) => Promise<void>;
  /** Counts each reload outcome (metrics). */
  onOutcome?: (outcome: RulesReloadResult['outcome'], operatorRules: number) => void;
}

function fingerprint(rule: Rule): string {
  const m = rule.match;
  const sources = (patterns: readonly RegExp[] | undefined) => patterns?.map((p) => p.source);
  return JSON.stringify([
    rule.category,
    rule.reason,
    m.status,
    sources(m.type),
    sources(m.error),
    sources(m.message),
    sources(m.text),
    sources(m.header),
    m.hostHint,
  ]);
}

/** Operator rule ids added, removed or changed between two rule lists (pure). */
export function changedRuleIds(before: readonly Rule[], after: readonly Rule[]): string[] {
  const old = new Map(before.map((r) => [r.id, fingerprint(r)]));
  const now = new Map(after.map((r) => [r.id, fingerprint(r)]));
  const ids = new Set<string>();
  for (const [id, f] of now) if (old.get(id) !== f) ids.add(id);
  for (const id of old.keys()) if (!now.has(id)) ids.add(id);
  return [...ids].sort();
}

/**
 * Keeps the daemon's classifier in step with CREDWATCH_RULES_FILE: reloads on a change of the file or on
 * request (SIGHUP, wired by the composition root). A bad file is refused with its one-line error and the
 * rules in force stay. `classifier` always delegates to the rules in force.
 */
export class RulesReloader {
  private current: Classifier;
  private operatorRules: readonly Rule[];
  private running: Promise<RulesReloadResult> | undefined;
  private watching = false;

  constructor(private readonly options: RulesReloaderOptions) {
    this.operatorRules = options.initialRules;
    this.current = createClassifier({ extraRules: options.initialRules });
  }

  /** A classifier that always uses the rules in force. */
  readonly classifier: Pick<Classifier, 'decideEvent' | 'assessCredential' | 'classifyEvent'> = {
    decideEvent: (event, context) => this.current.decideEvent(event, context),
    assessCredential: (events, credential) => this.current.assessCredential(events, credential),
    classifyEvent: (event, context) => this.current.classifyEvent(event, context),
  };

  /** The operator rules in force. */
  get rules(): readonly Rule[] {
    return this.operatorRules;
  }

  /** Starts watching the file's mtime (no-op without a rules file). */
  watch(): void {
    const file = this.options.file;
    if (file === undefined || this.watching) return;
    this.watching = true;
    watchFile(file, { interval: this.options.pollIntervalMs ?? 2000, persistent: false }, (curr: Stats, prev: Stats) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) void this.reload('file changed');
    });
  }

  /** Re-reads the rules file now. Concurrent calls share one reload. */
  reload(trigger: string): Promise<RulesReloadResult> {
    this.running ??= this.doReload(trigger).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doReload(trigger: string): Promise<RulesReloadResult> {
    const file = this.options.file;
    const log = this.options.logger;
    if (file === undefined) {
      log.warn({ trigger }, 'rules reload asked, but CREDWATCH_RULES_FILE is not set');
      return { outcome: 'unchanged', rules: 0, changedRuleIds: [] };
    }
    let rules: Rule[];
    try {
      rules = await loadRulesFile(file);
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
      log.error({ trigger, file, rulesInForce: this.operatorRules.length }, `rules reload refused, keeping the rules in force: ${message}`);
      this.options.onOutcome?.('refused', this.operatorRules.length);
      return { outcome: 'refused', error: message };
    }
    const changed = changedRuleIds(this.operatorRules, rules);
    if (changed.length === 0) {
      log.info({ trigger, file, rules: rules.length }, 'rules file reloaded: no rule changed');
      this.options.onOutcome?.('unchanged', rules.length);
      return { outcome: 'unchanged', rules: rules.length, changedRuleIds: [] };
    }
    this.operatorRules = rules;
    this.current = createClassifier({ extraRules: rules });
    log.info({ trigger, file, rules: rules.length, changedRuleIds: changed }, 'rules file reloaded');
    this.options.onOutcome?.('reloaded', rules.length);
    const result = { outcome: 'reloaded' as const, rules: rules.length, changedRuleIds: changed };
    if (this.options.onReloaded) {
      await this.options
        .onReloaded(result)
        .catch((error: unknown) =>
          log.error(
            { err: { message: error instanceof Error ? error.message : String(error) } },
            're-assessment after a rules reload failed',
          ),
        );
    }
    return result;
  }

  /** Stops watching. */
  close(): void {
    if (this.watching && this.options.file !== undefined) unwatchFile(this.options.file);
    this.watching = false;
  }
}

/** Builds the daemon's reloader: metrics on each outcome, re-assessment after a change, watching started. */
export function startRulesReloader(deps: {
  file: string | undefined;
  initialRules: readonly Rule[];
  watchIntervalMs: number;
  metrics: ClassifierMetrics;
  logger: Logger;
  /** Queues polls of the credentials decided by a fallback or a changed rule; returns how many. */
  reassess: (changedRuleIds: readonly string[]) => Promise<number>;
}): RulesReloader {
  deps.metrics.operatorRules.set(deps.initialRules.length);
  const reloader = new RulesReloader({
    file: deps.file,
    initialRules: deps.initialRules,
    logger: deps.logger,
    pollIntervalMs: deps.watchIntervalMs,
    onOutcome: (outcome, count) => {
      deps.metrics.rulesReloads.inc({ outcome });
      deps.metrics.operatorRules.set(count);
    },
    onReloaded: async ({ changedRuleIds: changed }) => {
      const queued = await deps.reassess(changed);
      deps.logger.info({ queued, changedRuleIds: changed }, 'credentials queued for re-assessment after the rules reload');
    },
  });
  reloader.watch();
  return reloader;
}
