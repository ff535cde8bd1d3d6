import { describe, expect, it } from 'vitest';
import { normalizeEvent, normalizeEvents, parseBody, parseEventDate } from '../src/classify/index.js';

describe('normalizeEvent', () => {
  it('reads statusCode as a number, a numeric string, or null', () => {
    expect(normalizeEvent({ statusCode: 401 }).statusCode).toBe(401);
    expect(normalizeEvent({ statusCode: ' 503 ' }).statusCode).toBe(503);
    expect(normalizeEvent({}).statusCode).toBeNull();
    expect(normalizeEvent({ statusCode: 'abc' }).statusCode).toBeNull();
    expect(normalizeEvent({ statusCode: 400.5 }).statusCode).toBeNull();
    expect(normalizeEvent({ statusCode: null }).statusCode).toBeNull();
    expect(normalizeEvent({ statusCode: [400] }).statusCode).toBeNull();
  });

  it('parses createdDate with 0, 3 or 6 fractional digits, or none at all', () => {
    const base = Date.UTC(2026, 10, 2, 10, 15, 3);
    expect(normalizeEvent({ createdDate: '2026-11-02T10:15:03Z' }).createdAtMs).toBe(base);
    expect(normalizeEvent({ createdDate: '2026-11-02T10:15:03.123Z' }).createdAtMs).toBe(base + 123);
    expect(normalizeEvent({ createdDate: '2026-11-02T10:15:03.123456Z' }).createdAtMs).toBe(base + 123);
    expect(normalizeEvent({ createdDate: '2026-11-02T12:15:03.123+02:00' }).createdAtMs).toBe(base + 123);
    expect(normalizeEvent({ createdDate: '2026-11-02T10:15:03' }).createdAtMs).toBe(base);
    expect(normalizeEvent({}).createdDate).toBe('');
    expect(normalizeEvent({}).createdAtMs).toBeNull();
    expect(normalizeEvent({ createdDate: 'yesterday' })).toMatchObject({ createdDate: 'yesterday', createdAtMs: null });
    expect(normalizeEvent({ createdDate: '2026-02-31T00:00:00Z' }).createdAtMs).toBeNull();
    expect(parseEventDate('2026-11-02T10:15:03.123456Z')).toEqual({ ms: base + 123, micros: 456 });
    expect(parseEventDate('2026-11-02T10:15:03.1Z')).toEqual({ ms: base + 100, micros: 0 });
    expect(parseEventDate('2026-11-02T10:15:03.1234Z')).toEqual({ ms: base + 123, micros: 400 });
    expect(parseEventDate(' 2026-11-02 10:15:03Z ')).toEqual({ ms: base, micros: 0 });
    expect(parseEventDate('2028-02-29T00:00:00Z')?.ms).toBe(Date.UTC(2028, 1, 29));
    for (const bad of ['2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-02T24:00:00Z', '2026-11-02T10:60:00Z', '2026-11-02', '']) {
      expect(parseEventDate(bad), bad).toBeNull();
    }
  });

  it('keeps the body as text whatever its type', () => {
    expect(normalizeEvent({ body: null }).body).toBe('');
    expect(normalizeEvent({ body: '{"a":1}' }).body).toBe('{"a":1}');
    expect(JSON.parse(normalizeEvent({ body: { message: 'x' } }).body)).toEqual({ message: 'x' });
    expect(normalizeEvent({ body: 42 }).body).toBe('42');
  });

  it('turns headers given as an object or a list into "Name: value" lines', () => {
    expect(normalizeEvent({ headers: 'Host: a' }).headers).toBe('Host: a');
    expect(normalizeEvent({ headers: { Host: 'api.bananorama.com', 'X-A': ['1', '2'] } }).headers).toBe(
      'Host: api.bananorama.com\nX-A: 1, 2',
    );
    expect(normalizeEvent({ headers: [['Host', 'h']] }).headers).toBe('Host: h');
    expect(normalizeEvent({ headers: null }).headers).toBe('');
  });

  it('gives an event without id a synthetic id derived from its content only', () => {
    const raw = { createdDate: '2026-11-02T10:15:03Z', statusCode: 400, body: 'x' };
    const a = normalizeEvent(raw, 0);
    expect(a.id).toMatch(/^synthetic-[0-9a-f]{16}$/);
    expect(normalizeEvent({ ...raw }, 7).id).toBe(a.id);
    expect(normalizeEvent({ ...raw, body: 'y' }).id).not.toBe(a.id);
    expect(normalizeEvent({ ...raw, id: 12 }).id).toBe('12');
    expect(normalizeEvent({ ...raw, id: '  ' }).id).toMatch(/^synthetic-/);
  });

  it('returns an empty event for a non-object', () => {
    for (const raw of [null, undefined, 42, 'text', [1, 2], true]) {
      expect(normalizeEvent(raw)).toMatchObject({ createdDate: '', createdAtMs: null, statusCode: null, headers: '', body: '' });
    }
  });
});

describe('normalizeEvents', () => {
  it('sorts oldest first with microsecond precision, undated first, stable for equal dates', () => {
    const sorted = normalizeEvents([
      { id: 'late-micro', createdDate: '2026-11-02T10:15:03.123457Z' },
      { id: 'early-micro', createdDate: '2026-11-02T10:15:03.123456Z' },
      { id: 'same-1', createdDate: '2026-11-01T00:00:00Z' },
      { id: 'undated' },
      { id: 'same-2', createdDate: '2026-11-01T00:00:00.000Z' },
      { id: 'oldest', createdDate: '2026-10-01T00:00:00.000000Z' },
    ]);
    expect(sorted.map((e) => e.id)).toEqual(['undated', 'oldest', 'same-1', 'same-2', 'early-micro', 'late-micro']);
  });

  it('drops duplicate ids, keeping the first occurrence', () => {
    const sorted = normalizeEvents([
      { id: 'x', createdDate: '2026-11-02T00:00:00Z', statusCode: 400 },
      { id: 'y', createdDate: '2026-11-01T00:00:00Z' },
      { id: 'x', createdDate: '2026-11-03T00:00:00Z', statusCode: 200 },
    ]);
    expect(sorted.map((e) => [e.id, e.statusCode])).toEqual([
      ['y', null],
      ['x', 400],
    ]);
    expect(normalizeEvents([])).toEqual([]);
  });
});

describe('parseBody', () => {
  it('reads Cognito, OAuth2, gateway and problem JSON fields', () => {
    expect(parseBody('{"__type":"com.amazonaws.cognito.identity.idp.model#NotAuthorizedException","message":"m"}')).toMatchObject({
      kind: 'json',
      type: 'NotAuthorizedException',
      messages: ['m', 'not authorized exception'],
    });
    expect(parseBody('{"error":"invalid_grant","error_description":"d"}')).toMatchObject({
      error: 'invalid_grant',
      messages: ['d', 'invalid grant'],
    });
    expect(parseBody('{"error":{"code":"token_expired","message":"gone"}}')).toMatchObject({
      error: 'token_expired',
      messages: ['gone', 'token expired'],
    });
    expect(parseBody('{"title":"Not Found","status":404,"message":"error.x","errorKey":"orgNotFound"}').messages).toEqual([
      'error.x',
      'Not Found',
      'orgNotFound',
      'org not found',
      'error x',
    ]);
  });

  it('reads codes in any case style as words, and AWS Error / XML shapes', () => {
    for (const code of ['invalid_organization_code', 'invalidOrganizationCode', 'INVALID_ORGANIZATION_CODE', 'invalid-organization-code']) {
      expect(parseBody(JSON.stringify({ errorKey: code })).messages).toContain('invalid organization code');
    }
    expect(parseBody('{"Error":{"Code":"OrgNotShared","Message":"m2"}}')).toMatchObject({
      type: 'OrgNotShared',
      messages: ['m2', 'org not shared'],
    });
    expect(parseBody('<?xml version="1.0"?><Error><Code>OrganizationNotFound</Code><Message>gone</Message></Error>').messages).toEqual(
      expect.arrayContaining(['organization not found', 'gone']),
    );
    expect(parseBody('ORGANIZATION_NOT_SHARED').messages).toEqual(['ORGANIZATION_NOT_SHARED', 'organization not shared']);
  });

  it('unwraps double- and triple-encoded JSON', () => {
    const inner = '{"__type":"UserNotFoundException","message":"User does not exist."}';
    expect(parseBody(JSON.stringify(inner))).toMatchObject({ kind: 'json', type: 'UserNotFoundException', text: inner });
    expect(parseBody(JSON.stringify(JSON.stringify(inner)))).toMatchObject({ type: 'UserNotFoundException' });
  });

  it('reads the title and h1 of an HTML page and strips its tags', () => {
    const parsed = parseBody('<html><head><title>502 Bad Gateway</title></head><body><h1>Bad &amp; gateway</h1></body></html>');
    expect(parsed).toMatchObject({ kind: 'html', messages: ['502 Bad Gateway', 'Bad & gateway'] });
    expect(parsed.text).toBe('502 Bad Gateway Bad & gateway');
  });

  it('treats plain text as one message, and empty or whitespace as empty', () => {
    expect(parseBody("I'm a teapot")).toMatchObject({ kind: 'text', messages: ["I'm a teapot"] });
    expect(parseBody('  \n ')).toMatchObject({ kind: 'empty', messages: [] });
    expect(parseBody('{not json')).toMatchObject({ kind: 'text' });
  });
});
