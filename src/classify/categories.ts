/** The taxonomy of credential-failures.md. These ids are a public interface: never rename. */
export const CATEGORIES = [
  'healthy',
  'cognito_token_expired',
  'wrong_organization_code',
  'environment_mismatch',
  'missing_permission',
  'provider_unavailable',
  'not_connected',
  'unclassified',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const ACTIONS = [
  'none',
  'reauthenticate',
  'fix_organization_code',
  'fix_environment',
  'grant_permission',
  'wait',
  'connect',
  'investigate',
] as const;
export type Action = (typeof ACTIONS)[number];

/** Who must act for each category, as an action id. */
export const ACTION_BY_CATEGORY: Readonly<Record<Category, Action>> = {
  healthy: 'none',
  cognito_token_expired: 'reauthenticate',
  wrong_organization_code: 'fix_organization_code',
  environment_mismatch: 'fix_environment',
  missing_permission: 'grant_permission',
  provider_unavailable: 'wait',
  not_connected: 'connect',
  unclassified: 'investigate',
};

/** One sentence a support person can act on, per category (used in webhooks, CLI and status page). */
export const REMEDIATION_BY_CATEGORY: Readonly<Record<Category, string>> = {
  healthy: 'Nothing to do: the last exchange with the provider succeeded.',
  cognito_token_expired:
    "The grower's Panorama login has expired or was revoked: ask the grower to reconnect Panorama through the one-click integration.",
  wrong_organization_code:
    'Panorama does not know this organization code or it is no longer shared with your app: check the code, or ask the grower to authorise sharing in Panorama.',
  environment_mismatch:
    'The credential points at the other Panorama environment (STAGE vs PRODUCTION): recreate it with the right clientEnvironment.',
  missing_permission:
    'The grower is connected but has not granted access to the data Leaf needs: ask the grower to grant the permission in Panorama.',
  provider_unavailable: 'Panorama is temporarily unavailable: nothing to do yet; credwatch keeps watching.',
  not_connected: 'This Leaf user has no Panorama credential: ask the grower to connect Panorama.',
  unclassified: 'A failure credwatch does not recognise: an operator should inspect the evidence and add a rule.',
};

/** Categories whose entry asks someone to act: they send `credential.action_required`. */
export function needsAction(category: Category, notifyUnclassified = false): boolean {
  const action = ACTION_BY_CATEGORY[category];
  if (category === 'unclassified') return notifyUnclassified;
  return action !== 'none' && action !== 'wait';
}

export const CLIENT_ENVIRONMENTS = ['STAGE', 'PRODUCTION'] as const;
export type ClientEnvironment = (typeof CLIENT_ENVIRONMENTS)[number];
