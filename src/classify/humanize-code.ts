/**
 * Turns an error code in any case style into lower-case words: `invalid_organization_code`,
 * `organizationNotShared`, `ORGANIZATION_NOT_FOUND` and `org-not-shared` all become plain words
 * ("organization not shared"), so the message rules read codes the way they read sentences.
 */
export function humanizeCode(code: string): string {
  return code
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/[_\-.:/#]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

/** True when `text` looks like a code (one word with separators or inner capitals), not a sentence. */
export function looksLikeCode(text: string): boolean {
  const t = text.trim();
  return t.length > 2 && t.length <= 100 && !/\s/.test(t) && /[_\-.]|[a-z][A-Z]|^[A-Z0-9_]+$/.test(t) && /[A-Za-z]{2}/.test(t);
}
