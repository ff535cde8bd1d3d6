import type { Category } from './categories.js';

/** One HTTP status, or an inclusive range `[low, high]`. */
export type StatusSpec = number | readonly [number, number];

/** `other-environment`: the headers or body name the other Panorama environment than the credential's. */
export type HostHint = 'other-environment';

/**
 * The conditions of a rule. Every condition given must hold (AND); inside one condition any pattern may
 * match (OR). `type`, `error` and `message` are tested on the parsed body fields first and on the whole
 * body text only when no rule matched the parsed fields; `text` and `header` always test the raw text.
 */
export interface RuleMatch {
  status?: readonly StatusSpec[];
  /** Cognito `__type`, namespace prefix stripped (`NotAuthorizedException`). */
  type?: readonly RegExp[];
  /** OAuth2 `error` (`invalid_grant`). */
  error?: readonly RegExp[];
  /** message / Message / error_description / title / HTML title and h1 / a plain-text body. */
  message?: readonly RegExp[];
  /** The body text (innermost JSON text, or an HTML page without its tags). */
  text?: readonly RegExp[];
  /** The response headers as one string. */
  header?: readonly RegExp[];
  hostHint?: HostHint;
}

/** A classifier rule: data, evaluated in order; the first rule that matches decides. */
export interface Rule {
  id: string;
  category: Category;
  reason: string;
  match: RuleMatch;
}

const CLIENT_ERRORS: readonly StatusSpec[] = [[400, 499]];
const ORG_STATUSES: readonly StatusSpec[] = [400, 401, 403, 404, 410, 422];
const ORG = String.raw`(?:organi[sz]ation|org|operation)`;
// Without "operation": "operation not permitted" and "unauthorized operation" are generic permission wordings.
const ORG_NAME = String.raw`(?:organi[sz]ations?|orgs?)`;
// "the requested organization", "this selected org": a determiner, then at most one qualifying word.
const THE_ORG = String.raw`(?:(?:this|the|that|your|its|their) )?(?:(?:requested|given|specified|selected|target|chosen|provided) )?${ORG}`;

/**
 * The built-in rules, strongest signal first (credential-failures.md, "Signals, strongest first").
 * 2xx (healthy) and 5xx/429/408 (never a re-auth) are enforced by classifyEvent before and around
 * this table; these rules only refine what the body says.
 */
export const BUILTIN_RULES: readonly Rule[] = [
  // --- Transient statuses: listed so that the table reads completely; classifyEvent also enforces them.
  {
    id: 'transient.status-5xx',
    category: 'provider_unavailable',
    reason: 'the provider answered with a server error (5xx)',
    match: { status: [[500, 599]] },
  },
  { id: 'transient.status-429', category: 'provider_unavailable', reason: 'the provider is rate limiting (429)', match: { status: [429] } },
  {
    id: 'transient.status-408',
    category: 'provider_unavailable',
    reason: 'the provider timed out the request (408)',
    match: { status: [408] },
  },
  // --- Transient by error type: the type is definitive and says "try later", whatever the status.
  {
    id: 'transient.cognito-throttling',
    category: 'provider_unavailable',
    reason: 'Cognito is throttling requests',
    match: {
      type: [
        /\b(?:TooManyRequestsException|LimitExceededException|ThrottlingException|Throttling|RequestLimitExceeded|ProvisionedThroughputExceededException|TooManyFailedAttemptsException)\b/i,
      ],
    },
  },
  {
    id: 'transient.cognito-internal-error',
    category: 'provider_unavailable',
    reason: 'Cognito reported an internal error',
    match: {
      type: [
        /\b(?:InternalErrorException|InternalFailure|InternalServerError|InternalServerException|ServiceUnavailable(?:Exception)?|ServiceException|RequestTimeout(?:Exception)?)\b/i,
      ],
    },
  },
  {
    id: 'transient.oauth-temporarily-unavailable',
    category: 'provider_unavailable',
    reason: 'the OAuth server is temporarily unavailable',
    match: { error: [/\b(?:temporarily_unavailable|server_error|slow_down)\b/i] },
  },
  {
    id: 'transient.cognito-attempts-exceeded',
    category: 'provider_unavailable',
    reason: 'too many attempts: the provider asks to wait, not to re-authenticate',
    match: {
      message: [/\b(?:password )?attempts exceeded\b/i, /\brate exceeded\b/i, /\btoo many (?:requests|attempts|failed attempts)\b/i],
    },
  },

  // --- environment_mismatch: before token expiry, since re-authenticating in the wrong environment cannot help.
  {
    id: 'env.cognito-client-not-found',
    category: 'environment_mismatch',
    reason: 'the Cognito user pool or app client does not exist in this environment',
    match: {
      type: [/\bResourceNotFoundException\b/i],
      message: [/\buser ?pool\b/i, /\bclient\b/i, /\bidentity provider\b/i],
    },
  },
  {
    id: 'env.cognito-user-not-found',
    category: 'environment_mismatch',
    reason: 'Cognito does not know this user in this environment',
    match: { type: [/\bUserNotFoundException\b/i] },
  },
  {
    id: 'env.oauth-invalid-client',
    category: 'environment_mismatch',
    reason: 'the OAuth client id is unknown in this environment',
    match: { error: [/\b(?:invalid_client|unauthorized_client|unknown_client)\b/i] },
  },
  {
    id: 'env.message-client-not-found',
    category: 'environment_mismatch',
    reason: 'the provider says the client, user pool or user does not exist',
    match: {
      status: CLIENT_ERRORS,
      message: [
        /\buser pool client\b.{0,80}\b(?:does not exist|not found)\b/i,
        /\buser ?pool\b.{0,80}\b(?:does not exist|not found)\b/i,
        /\b(?:app |oauth |application )?client(?: ?id)?\b.{0,80}\b(?:does not exist|not found|is unknown)\b/i,
        /\b(?:unknown|invalid) (?:app |oauth )?client(?:[ _]?id)?\b/i,
        /\bclient authentication failed\b/i,
        /\b(?:app |oauth |application )?client(?: ?id)?\b.{0,80}\b(?:not recogni[sz]ed|unrecogni[sz]ed|not registered|unregistered)\b/i,
        /^user does not exist\.?$/i,
      ],
    },
  },
  {
    id: 'env.message-environment',
    category: 'environment_mismatch',
    reason: 'the provider says the credential belongs to another environment',
    match: {
      message: [
        /\benvironments? (?:does not match|do not match|mismatch)\b/i,
        /\b(?:does not|doesn't|do not|don't) match (?:the |this |your )?(?:requested |current |target |expected )?environment\b/i,
        /\b(?:wrong|different|other|another) environment\b/i,
        /\bbelongs to (?:the )?(?:stage|staging|production|test|sandbox) environment\b/i,
        /\b(?:not|isn't|is not) (?:valid|available|registered) (?:in|for) (?:this|the (?:stage|staging|production)) environment\b/i,
        /\b(?:not (?:recogni[sz]ed|known|found|registered|valid)|unknown|does not exist) (?:in|for) (?:this|the current|the (?:stage|staging|production)) environment\b/i,
        // "issued for PRODUCTION but the STAGE environment was requested", "created for staging, used against production".
        /\b(?:(?:issued|created|registered|made|configured|meant|intended|generated|valid(?: only)?) (?:for|in)|belongs to|comes from|is from|obtained (?:from|in)) (?:the )?(?:stage|staging|production|prod)\b.{0,80}\b(?:but|while|whereas|yet|not)\b.{0,60}\b(?:stage|staging|production|prod)\b/i,
        /\b(?:stage|staging|production|prod) (?:credentials?|tokens?|clients?|user ?pools?|accounts?) (?:cannot|can't|may not|must not|is not|are not|isn't|aren't) (?:be )?(?:used|valid|accepted|allowed)\b/i,
      ],
    },
  },
  {
    id: 'env.host-other-environment',
    category: 'environment_mismatch',
    reason: "the exchange went to the other Panorama environment than the credential's clientEnvironment",
    match: { status: CLIENT_ERRORS, hostHint: 'other-environment' },
  },

  // --- wrong_organization_code: before permission, because fixing sharing is a different action.
  {
    id: 'org.not-found',
    category: 'wrong_organization_code',
    reason: 'the provider does not know this organization',
    match: {
      status: ORG_STATUSES,
      message: [
        new RegExp(
          String.raw`\b${ORG}s?\b.{0,60}\b(?:not found|does not exist|doesn't exist|do not exist|is unknown|was deleted|has been deleted)\b`,
          'i',
        ),
        new RegExp(String.raw`\b(?:unknown|no such|missing|nonexistent|non-existent) ${ORG}\b`, 'i'),
        /\borgani[sz]ation ?not ?found\b/i,
        // Negated forms: "no organization matches the given code", "no org with id ... exists".
        new RegExp(
          String.raw`\bno ${ORG}s?\b.{0,40}\b(?:match(?:es|ed|ing)?|correspond(?:s|ing)?|found|exists?|with (?:the |this |that )?(?:given |provided )?(?:code|id))\b`,
          'i',
        ),
        new RegExp(
          String.raw`\b(?:could not|couldn't|cannot|can't|unable to|failed to) (?:find|resolve|locate|look ?up) (?:the |this |that |an? |any )?${ORG}\b`,
          'i',
        ),
        new RegExp(String.raw`\b${ORG}\b.{0,60}\b(?:could not be|cannot be|can't be) (?:found|resolved|located)\b`, 'i'),
        new RegExp(
          String.raw`\b(?:does not|doesn't|did not|do not) (?:match|correspond to|belong to|refer to) (?:any|an?|a known|an existing) (?:known |existing |active )?${ORG}\b`,
          'i',
        ),
        new RegExp(
          String.raw`\b${ORG}s? (?:code |id |identifier )?(?:is )?(?:not (?:found|recogni[sz]ed|known|valid|existing)|unknown|absent|gone|deleted|invalid)\b`,
          'i',
        ),
      ],
    },
  },
  {
    id: 'org.invalid-code',
    category: 'wrong_organization_code',
    reason: 'the organization code is invalid',
    match: {
      status: ORG_STATUSES,
      message: [
        /\b(?:invalid|unknown|wrong|bad|incorrect|malformed|unrecogni[sz]ed) (?:organi[sz]ation|org)[ _-]?(?:code|id)\b/i,
        /\b(?:organi[sz]ation|org)[ _-]?(?:code|id)\b.{0,40}\b(?:invalid|unknown|not valid|not recogni[sz]ed|incorrect|not found|does not exist)\b/i,
        /\binvalidorgani[sz]ationcode\b|\borgani[sz]ationnotfound\b/i,
        // A disabled organization: "organization code ACME-01 has been disabled".
        new RegExp(
          String.raw`\b${ORG_NAME}(?:[ _-]?(?:code|id))?\b.{0,40}\b(?:has been |was |is )?(?:disabled|deactivated|suspended|archived|inactive|closed)\b`,
          'i',
        ),
        // A missing code: "organizationCode is required", "missing organization code".
        /\b(?:organi[sz]ation|org)[ _-]?(?:code|id)\b.{0,20}\b(?:is required|required|is missing|missing|must not be (?:empty|blank)|is empty|is blank|not provided|not set)\b/i,
        /\b(?:missing|empty|blank|no) (?:organi[sz]ation|org)[ _-]?(?:code|id)\b/i,
        // Codes written as one lower-case word (`error.orgaccessrevoked`, `orgcodeinvalid`): no case style to split on.
        /\b(?:invalid|unknown|wrong|no)?(?:organi[sz]ation|org|operation)s?(?:code|id)?(?:notfound|invalid|unknown|doesnotexist|notexists?|mismatch)\b/i,
        /\b(?:organi[sz]ation|org|operation)s?(?:data)?(?:access|sharing|share|consent)?(?:revoked|notshared|unshared|denied|removed|withdrawn|notauthori[sz]ed|forbidden)\b/i,
        new RegExp(
          String.raw`\b(?:invalid|unknown|wrong|bad|incorrect|malformed|unrecogni[sz]ed|unmatched|mismatched) ${ORG} ?(?:code|id|identifier|reference|key)?\b`,
          'i',
        ),
        new RegExp(
          String.raw`\b${ORG} ?(?:code|id|identifier)\b.{0,60}\b(?:does(?:n't| not) match|matches no|match(?:es)? nothing|not match|mismatch|rejected|refused|expired)\b`,
          'i',
        ),
        new RegExp(
          String.raw`\b(?:the )?(?:given|provided|supplied|submitted) ${ORG} ?(?:code|id)?\b.{0,60}\b(?:invalid|unknown|not|no)\b`,
          'i',
        ),
      ],
    },
  },
  {
    id: 'org.not-shared',
    category: 'wrong_organization_code',
    reason: 'the organization is not (or no longer) shared with the partner app',
    match: {
      status: ORG_STATUSES,
      message: [
        /\bnot (?:been )?shared with\b/i,
        /\bno longer shared\b/i,
        /\bsharing (?:has been |was |is )?(?:revoked|disabled|removed|expired|not enabled|not active)\b/i,
        /\b(?:share|sharing (?:url|link|invitation)) (?:has been |was |is )?(?:revoked|expired|invalid|not found)\b/i,
        /\b(?:partner|app|application) (?:is )?not (?:linked|connected) to (?:this |the )?(?:organi[sz]ation|operation)\b/i,
        new RegExp(
          String.raw`\b${ORG}\b.{0,60}\b(?:is |was |has been )?(?:not|no longer|never been) (?:linked|connected|associated|paired) (?:to|with) (?:this |the |your |that )?(?:partner|app|application|integration|client)\b`,
          'i',
        ),
        // Sharing wording: "has not shared its data with your partner app", "organizationNotShared", "org sharing ended".
        /\b(?:has|have) (?:not|never) (?:yet )?(?:been )?shar(?:ed|ing)\b/i,
        /\b(?:hasn't|haven't|didn't|did not|does not|doesn't|do not|don't|never) (?:yet )?shared?\b/i,
        /\b(?:stopped|ended|revoked|withdrew|withdrawn|cancell?ed|removed|disabled) (?:the |its |their |data )?(?:sharing|share|shared access)\b/i,
        /\bnot shared\b|\bunshared\b|\bno longer (?:shares?|sharing|shared|linked|connected|authori[sz]ed|accessible)\b/i,
        new RegExp(
          String.raw`\b${ORG}s? (?:data )?(?:access|sharing|share|link|connection|authori[sz]ation|consent|grant) (?:has been |was |is |got )?(?:revoked|removed|withdrawn|ended|disabled|expired|denied|cancell?ed|terminated|missing|not granted)\b`,
          'i',
        ),
        new RegExp(
          String.raw`\b(?:revoked|removed|withdrawn|lost|no) (?:the )?(?:access|sharing|consent|authori[sz]ation) (?:to|for|from|of) (?:this |the |that |your |its )?${ORG}\b`,
          'i',
        ),
        new RegExp(
          String.raw`\b${ORG}\b.{0,60}\b(?:revoked|withdrew|withdrawn) (?:the |its |their |your )?(?:access|sharing|consent|authori[sz]ation)\b`,
          'i',
        ),
        /\b(?:sharing|share)\b.{0,40}\b(?:revoked|withdrawn|terminated|cancell?ed|stopped|turned off|switched off|disabled|paused|deactivated|suspended)\b/i,
        // "grower revoked partner access to their organization".
        new RegExp(
          String.raw`\b(?:revoked|removed|withdrew|withdrawn|pulled|cut off|disabled|stopped)\b.{0,40}\b(?:access|sharing|consent|authori[sz]ation)\b.{0,10}\b(?:to|for|from|of|on)\b.{0,20}\b${ORG}\b`,
          'i',
        ),
        /\bsharing (?:with|for) (?:the |your |this )?(?:partner|app|application|integration)\b.{0,40}\b(?:revoked|disabled|not|missing|ended|expired|inactive)\b/i,
        /\b(?:partner|app|application|integration)\b.{0,40}\bno (?:longer )?(?:access|sharing)\b.{0,20}\b(?:organi[sz]ation|operation|org)\b/i,
      ],
    },
  },
  {
    id: 'org.not-authorized',
    category: 'wrong_organization_code',
    reason: 'the partner is not authorised for this organization',
    match: {
      status: ORG_STATUSES,
      message: [
        new RegExp(
          String.raw`\bnot (?:authori[sz]ed|allowed|permitted|entitled) (?:to access|for|to read|to view|on) (?:this |the |that )?${ORG}\b`,
          'i',
        ),
        new RegExp(String.raw`\b(?:access to|no access to) (?:this |the |that )?${ORG}\b`, 'i'),
        new RegExp(String.raw`\bnot (?:a member of|part of|associated with) (?:this |the |that )?${ORG}\b`, 'i'),
        new RegExp(String.raw`\bnot (?:authori[sz]ed|allowed|permitted) to access ${ORG}\b`, 'i'),
        new RegExp(
          String.raw`\b${ORG_NAME} (?:access )?(?:not (?:authori[sz]ed|allowed|permitted|granted|accessible)|forbidden|denied|unauthori[sz]ed|inaccessible)\b`,
          'i',
        ),
        new RegExp(String.raw`\b(?:unauthori[sz]ed|forbidden|denied) (?:access )?(?:to |for )?(?:this |the |that )?${ORG_NAME}\b`, 'i'),
        new RegExp(
          String.raw`\b(?:no|without|lacks?|missing) (?:access|permission|rights?|authori[sz]ation) (?:to|for|on) (?:this |the |that |your |its )?${ORG}\b`,
          'i',
        ),
        new RegExp(
          String.raw`\b(?:not have|n't have|does not have|do not have|lacks?|without) (?:the |any )?(?:permission|rights?|authori[sz]ation|access) (?:to access |to read |to view |for |on |to )?${THE_ORG}\b`,
          'i',
        ),
        // The organization as the subject: "Organization XYZ12 has not authorized this partner".
        new RegExp(
          String.raw`\b${ORG}\b.{0,40}\b(?:has not|hasn't|have not|haven't|did not|didn't|does not|doesn't|never) (?:yet )?(?:authori[sz]ed?|approved?|granted access to|allowed|consented to) (?:this |the |your |that )?(?:partner|app|application|integration|client)\b`,
          'i',
        ),
      ],
    },
  },

  // --- cognito_token_expired: specific wordings first, weak status-only signals last.
  {
    id: 'token.cognito-refresh-expired',
    category: 'cognito_token_expired',
    reason: 'the Cognito refresh token has expired',
    match: { message: [/\brefresh[ _-]?token (?:has |is )?expired\b/i] },
  },
  {
    id: 'token.cognito-refresh-revoked',
    category: 'cognito_token_expired',
    reason: 'the Cognito refresh token was revoked',
    match: { message: [/\brefresh[ _-]?token (?:has been |was |is )?revoked\b/i] },
  },
  {
    id: 'token.cognito-invalid-refresh',
    category: 'cognito_token_expired',
    reason: 'the Cognito refresh token is not valid',
    match: { message: [/\binvalid refresh[ _-]?token\b/i, /\brefresh[ _-]?token (?:is )?(?:invalid|not valid|malformed)\b/i] },
  },
  {
    id: 'token.cognito-access-expired',
    category: 'cognito_token_expired',
    reason: 'the access token has expired or is invalid',
    match: {
      message: [/\baccess token (?:has |is )?expired\b/i, /\binvalid access token\b/i, /\baccess token (?:has been |was )?revoked\b/i],
    },
  },
  {
    id: 'token.expired',
    category: 'cognito_token_expired',
    reason: 'the token has expired',
    match: {
      message: [
        /\bthe incoming token has expired\b/i,
        /\b(?:id |bearer |auth |authentication )?token (?:is |has )?expired\b/i,
        /\bexpired (?:id |bearer |access |refresh )?token\b/i,
        /\bjwt (?:is )?expired\b/i,
        /\bTokenExpiredError\b/i,
        /\btoken (?:is )?(?:no longer valid|not active)\b/i,
        /\bsession (?:has |is )?expired\b/i,
        /\btoken (?:has been|was) revoked\b/i,
        // Words between the token and its state: "the security token included in the request is expired".
        /\b(?:(?:security|session|id|bearer|auth|access|refresh|oauth)[ _-]?)?token\b.{0,50}\b(?:is|has|was|has been) (?:expired|revoked)\b/i,
        /\b(?:login|credentials?|grant) (?:has |have |is |are )?expired\b/i,
      ],
    },
  },
  {
    id: 'token.oauth-invalid-grant',
    category: 'cognito_token_expired',
    reason: 'the OAuth server refused the refresh grant (invalid_grant)',
    match: { error: [/\b(?:invalid_grant|invalid_token|expired_token|token_expired|login_required)\b/i] },
  },
  {
    id: 'token.cognito-incorrect-login',
    category: 'cognito_token_expired',
    reason: 'Cognito refused the stored login',
    match: {
      type: [/\bNotAuthorizedException\b/i],
      message: [/\bincorrect username or password\b/i, /\bpassword (?:has )?expired\b/i, /\btemporary password has expired\b/i],
    },
  },

  // --- missing_permission: authenticated, not allowed; never about the organization (handled above).
  {
    id: 'permission.cognito-access-denied',
    category: 'missing_permission',
    reason: 'access denied: the login lacks a permission',
    match: { type: [/\b(?:AccessDeniedException|AccessDenied|UnauthorizedOperation|ForbiddenException)\b/i] },
  },
  {
    id: 'permission.oauth-scope',
    category: 'missing_permission',
    reason: 'the token lacks a required scope',
    match: { error: [/\b(?:insufficient_scope|access_denied|invalid_scope|consent_required)\b/i] },
  },
  {
    id: 'permission.message',
    category: 'missing_permission',
    reason: 'the provider says a permission or scope is missing',
    match: {
      status: CLIENT_ERRORS,
      message: [
        /\binsufficient (?:scopes?|permissions?|privileges?|access rights)\b/i,
        /\bpermission(?:s)? denied\b/i,
        /\b(?:missing|lacks?|without) (?:the |a )?(?:required |necessary )?(?:permissions?|scopes?|privileges?|roles?|rights?)\b/i,
        /\b(?:does not|doesn't|do not) have (?:the )?(?:required |necessary )?(?:permissions?|access|scopes?|privileges?)\b/i,
        /\bnot authori[sz]ed to perform\b/i,
        /\bscopes? .{0,40}\b(?:not granted|required|missing)\b/i,
        /\bnot (?:allowed|permitted) to (?:access|read|view|list|perform)\b/i,
        /\bpermission (?:is )?required\b/i,
        /^\s*(?:the )?(?:operation|action|request) (?:is )?not (?:permitted|allowed)\.?\s*$/i,
        /\b(?:has|have) not (?:yet )?granted (?:the |any )?(?:required )?(?:permissions?|access|scopes?)\b/i,
        /\b(?:has|have|had|did)(?: not|n't) (?:yet )?granted\b.{0,40}\b(?:permissions?|access|scopes?|rights?|consent)\b/i,
        /\b(?:permissions?|scopes?|consent|access rights?) (?:was |were |has been |have been )?(?:not granted|never granted|withdrawn|revoked)\b/i,
      ],
    },
  },

  // --- not_connected: Leaf-side wording about the credential itself being gone.
  {
    id: 'not-connected.no-credential',
    category: 'not_connected',
    reason: 'the Panorama credential does not exist (anymore)',
    match: {
      status: [404, 410],
      message: [
        /\b(?:panorama )?credentials? (?:not found|do(?:es)? not exist|(?:was|were|has been|have been) deleted|missing)\b/i,
        /\bno (?:panorama )?credentials?\b/i,
      ],
    },
  },

  // --- Transient by wording: after every definitive rule, so a re-auth signal is never hidden.
  {
    id: 'transient.message',
    category: 'provider_unavailable',
    reason: 'the provider says it is temporarily unavailable',
    match: {
      message: [
        /\btemporar(?:il)?y unavailable\b/i,
        /\bservice unavailable\b/i,
        /\btry again later\b/i,
        /\b(?:timed out|time-?out)\b/i,
        /\bthrottl(?:ed|ing)\b/i,
        /\brate limit(?:ed)?\b/i,
        /\bbad gateway\b/i,
        /\binternal server error\b/i,
        /\bunder maintenance\b|\bmaintenance mode\b/i,
        /\b(?:ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|socket hang up)\b/i,
        /\bconnection (?:reset|refused|closed)\b/i,
      ],
    },
  },

  // --- Weak signals: a status with a generic word and nothing more specific.
  {
    id: 'token.status-401-generic',
    category: 'cognito_token_expired',
    reason: 'the provider refused the login (401) without saying more',
    match: {
      status: [401],
      message: [
        /^\s*unauthori[sz]ed\.?\s*$/i,
        /\bnot authenticated\b|\bunauthenticated\b/i,
        /\bauthentication (?:required|failed)\b/i,
        /\binvalid (?:token|credentials|authentication)\b/i,
        /\bmissing authentication token\b/i,
        /\b401 (?:unauthori[sz]ed|authorization required)\b/i,
      ],
    },
  },
  {
    id: 'token.cognito-not-authorized',
    category: 'cognito_token_expired',
    reason: 'Cognito refused the login (NotAuthorizedException)',
    match: { type: [/\bNotAuthorizedException\b/i] },
  },
  {
    id: 'token.status-401-empty',
    category: 'cognito_token_expired',
    reason: 'the provider refused the login (401) with an empty body',
    match: { status: [401], text: [/^\s*$/] },
  },
  {
    id: 'permission.status-403-generic',
    category: 'missing_permission',
    reason: 'the provider forbade the request (403) without mentioning the organization',
    match: { status: [403], message: [/^\s*(?:403 )?forbidden\.?\s*$/i, /\baccess (?:is )?denied\b/i, /^\s*not authori[sz]ed\.?\s*$/i] },
  },
];

/** Categories that ask someone to re-authenticate or fix the credential; a transient status never yields them. */
export const REAUTH_CATEGORIES: ReadonlySet<Category> = new Set<Category>([
  'cognito_token_expired',
  'wrong_organization_code',
  'environment_mismatch',
  'missing_permission',
  'not_connected',
]);
