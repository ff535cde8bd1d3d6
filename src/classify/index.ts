/** The classifier's public API: pure functions over Leaf credential events, plus the rules-file loader. */
export * from './categories.js';
export type * from './types.js';
export { normalizeEvent, normalizeEvents, parseEventDate } from './normalize-event.js';
export { parseBody, type ParsedBody } from './parse-body.js';
export { BUILTIN_RULES, REAUTH_CATEGORIES, type HostHint, type Rule, type RuleMatch, type StatusSpec } from './rules.js';
export { classifyEvent, isTransientStatus, namesOtherEnvironment, STRUCTURAL_RULE_IDS } from './classify-event.js';
export { assessCredential, ASSESSMENT_RULE_IDS, isWitnessStatus } from './assess-credential.js';
export { createClassifier, loadRulesFile, parseRules, type Classifier } from './rules-file.js';
