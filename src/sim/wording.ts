import type { ClientEnvironment } from '../classify/categories.js';
import type { Rng } from './prng.js';

/** What a provider answered in one exchange, before the simulator formats it as a Leaf event. */
export interface Exchange {
  statusCode: number;
  body: string;
  /** Extra response headers (e.g. a Host naming the other environment). */
  headers?: Record<string, string>;
}

/** Facts about the credential an exchange belongs to. */
export interface ExchangeContext {
  env: ClientEnvironment;
  clientId: string;
  organizationCode: string;
}

type Template = (rng: Rng, ctx: ExchangeContext) => Exchange;

const json = (value: Record<string, unknown>): string => JSON.stringify(value);
const cognito = (type: string, message: string, rng: Rng): string =>
  json({ __type: rng.chance(0.3) ? `com.amazonaws.cognito.identity.idp.model#${type}` : type, message });
const html = (code: number, title: string): string =>
  `<html>\r\n<head><title>${code} ${title}</title></head>\r\n<body>\r\n<center><h1>${code} ${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'sa-east-1'] as const;

/** Successful syncs: the data endpoints and Cognito refreshes that Leaf logs. */
export const SUCCESS: readonly Template[] = [
  (rng, ctx) => ({
    statusCode: 200,
    body: json({ organizations: [{ code: ctx.organizationCode, name: `${rng.pick(FARMS)} Farms` }] }),
  }),
  (rng) => ({
    statusCode: 200,
    body: json({ fields: Array.from({ length: rng.int(1, 3) }, () => ({ id: rng.hex(12), area: rng.int(10, 400) })) }),
  }),
  (rng) => ({
    statusCode: 200,
    body: json({
      AuthenticationResult: {
        AccessToken: fakeJwt(rng, 64),
        ExpiresIn: 3600,
        IdToken: fakeJwt(rng, 64),
        TokenType: 'Bearer',
      },
      ChallengeParameters: {},
    }),
  }),
  (rng) => ({ statusCode: 200, body: json({ machines: [], page: 0, total: rng.int(0, 12) }) }),
  () => ({ statusCode: 204, body: '' }),
  (rng) => ({ statusCode: 201, body: json({ jobId: rng.hex(16), state: 'QUEUED' }) }),
];

/** Cognito/OAuth answers meaning the grower's login expired or was revoked. */
export const TOKEN_EXPIRED: readonly Template[] = [
  (rng) => ({ statusCode: 400, body: cognito('NotAuthorizedException', 'Refresh Token has expired', rng) }),
  (rng) => ({ statusCode: 400, body: cognito('NotAuthorizedException', 'Refresh Token has been revoked', rng) }),
  (rng) => ({ statusCode: 400, body: cognito('NotAuthorizedException', 'Invalid Refresh Token', rng) }),
  (rng) => ({ statusCode: 400, body: cognito('NotAuthorizedException', 'Access Token has expired', rng) }),
  () => ({ statusCode: 400, body: json({ message: 'Token is expired.', __type: 'NotAuthorizedException' }) }),
  () => ({ statusCode: 400, body: json({ error: 'invalid_grant' }) }),
  () => ({ statusCode: 400, body: json({ error: 'invalid_grant', error_description: 'Refresh token is expired or revoked' }) }),
  () => ({ statusCode: 401, body: json({ message: 'The incoming token has expired' }) }),
  () => ({ statusCode: 401, body: json({ message: 'Unauthorized' }) }),
  () => ({ statusCode: 401, body: 'jwt expired' }),
  (rng) => ({ statusCode: 401, body: json({ error: 'unauthorized', error_description: `token expired ${rng.int(2, 90)} minutes ago` }) }),
];

/** Panorama answers about an unknown or unshared organization (Panorama calls it an operation). */
export const WRONG_ORGANIZATION: readonly Template[] = [
  () => ({ statusCode: 404, body: json({ message: 'Organization not found' }) }),
  (_rng, ctx) => ({ statusCode: 404, body: json({ error: 'Not Found', message: `Organization not found: ${ctx.organizationCode}` }) }),
  (_rng, ctx) => ({ statusCode: 400, body: json({ message: `Invalid organization code '${ctx.organizationCode}'` }) }),
  () => ({ statusCode: 404, body: json({ code: 'OPERATION_NOT_FOUND', message: 'Operation not found' }) }),
  (_rng, ctx) => ({
    statusCode: 403,
    body: json({ error: 'Forbidden', message: `Partner is not authorized to access organization ${ctx.organizationCode}` }),
  }),
  (_rng, ctx) => ({ statusCode: 403, body: json({ message: `Organization ${ctx.organizationCode} is not shared with partner` }) }),
  () => ({ statusCode: 403, body: json({ message: 'Sharing revoked by the organization owner' }) }),
  () => ({ statusCode: 403, body: 'Forbidden: not authorized to access this organization' }),
];

/** Answers showing that the credential points at the other Panorama environment. */
export const ENVIRONMENT_MISMATCH: readonly Template[] = [
  (rng, ctx) => ({ statusCode: 400, body: cognito('ResourceNotFoundException', `User pool client ${ctx.clientId} does not exist.`, rng) }),
  (rng) => ({
    statusCode: 400,
    body: cognito('ResourceNotFoundException', `User pool ${rng.pick(REGIONS)}_${rng.hex(9)} does not exist.`, rng),
  }),
  (rng) => ({ statusCode: 400, body: cognito('UserNotFoundException', 'User does not exist.', rng) }),
  () => ({ statusCode: 400, body: json({ error: 'invalid_client' }) }),
  () => ({ statusCode: 401, body: json({ error: 'invalid_client', error_description: 'Client authentication failed' }) }),
  (_rng, ctx) => ({ statusCode: 401, body: json({ message: `client ${ctx.clientId} not found` }) }),
  (_rng, ctx) => ({
    statusCode: 401,
    body: json({ message: 'Unauthorized' }),
    headers: { Host: ctx.env === 'PRODUCTION' ? 'api.bananorama.com' : 'api.panorama.ag' },
  }),
];

/** Authenticated, but not allowed to read what Leaf needs. */
export const MISSING_PERMISSION: readonly Template[] = [
  (rng) => ({ statusCode: 403, body: cognito('AccessDeniedException', 'User is not authorized to perform this action', rng) }),
  () => ({ statusCode: 403, body: json({ error: 'insufficient_scope', error_description: 'insufficient scope for this resource' }) }),
  (rng) => ({ statusCode: 403, body: json({ message: `Permission denied: ${rng.pick(['fields.read', 'machines.read', 'files.read'])}` }) }),
  () => ({ statusCode: 403, body: json({ message: 'User does not have permission to read machine data' }) }),
  () => ({ statusCode: 403, body: 'permission denied' }),
];

/** Transient provider trouble: never a re-auth. */
export const UNAVAILABLE: readonly Template[] = [
  () => ({ statusCode: 503, body: html(503, 'Service Temporarily Unavailable') }),
  () => ({ statusCode: 502, body: html(502, 'Bad Gateway') }),
  () => ({ statusCode: 504, body: "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>" }),
  () => ({ statusCode: 500, body: json({ message: 'Internal server error' }) }),
  () => ({ statusCode: 500, body: json({ __type: 'InternalErrorException', message: 'Internal error' }) }),
  () => ({ statusCode: 429, body: json({ message: 'Too Many Requests' }) }),
  () => ({ statusCode: 400, body: json({ __type: 'TooManyRequestsException', message: 'Too many requests' }) }),
  () => ({ statusCode: 400, body: json({ __type: 'ThrottlingException', message: 'Rate exceeded' }) }),
  () => ({ statusCode: 408, body: 'Request Timeout' }),
  () => ({ statusCode: 503, body: json({ message: 'Service Unavailable', retryAfter: 30 }) }),
  () => ({ statusCode: 504, body: 'upstream request timeout' }),
];

/** Failures no rule recognises. */
export const UNCLASSIFIED: readonly Template[] = [
  () => ({ statusCode: 418, body: "I'm a teapot" }),
  () => ({ statusCode: 400, body: json({ error: 'unsupported_grant_type' }) }),
  () => ({ statusCode: 409, body: json({ message: 'Conflict' }) }),
  () => ({
    statusCode: 422,
    body: json({ message: 'Unprocessable Entity', errors: [{ field: 'startTime', reason: 'must be before endTime' }] }),
  }),
  () => ({ statusCode: 405, body: 'Method Not Allowed' }),
  () => ({
    statusCode: 400,
    body: json({
      __type: 'InvalidParameterException',
      message: "1 validation error detected: Value at 'clientMetadata' failed to satisfy constraint",
    }),
  }),
  () => ({ statusCode: 404, body: json({ message: 'Not Found' }) }),
];

/** Farm names used for organizations and profiles. */
export const FARMS = ['Prairie', 'Cedar Creek', 'Riverbend', 'High Plains', 'Sunset', 'Oak Hollow', 'Green Valley', 'Twin Silos'] as const;

const b64url = (text: string): string => Buffer.from(text).toString('base64url');

/** A JWT-shaped fake token (not signed by anything: it only has to look like a Cognito token). */
export function fakeJwt(rng: Rng, signatureBytes = 256): string {
  const header = b64url(JSON.stringify({ kid: rng.hex(20), alg: 'RS256' }));
  const payload = b64url(
    JSON.stringify({
      sub: rng.hex(32),
      token_use: 'access',
      scope: 'aws.cognito.signin.user.admin',
      exp: 1_790_000_000 + rng.int(0, 9_999_999),
    }),
  );
  return `${header}.${payload}.${rng.bytes(signatureBytes).toString('base64url')}`;
}

/** A Cognito-refresh-token-shaped fake (a JWE: five base64url parts). */
export function fakeRefreshToken(rng: Rng): string {
  const part = (bytes: number) => rng.bytes(bytes).toString('base64url');
  return `${b64url('{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}')}.${part(256)}.${part(12)}.${part(384)}.${part(16)}`;
}
