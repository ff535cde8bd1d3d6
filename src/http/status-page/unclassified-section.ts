import type { InboxSignature } from '../../monitor/unclassified-inbox.js';
import { formatCount, formatTime } from './format.js';
import { html, type SafeHtml } from './safe-html.js';

/** The status page's "Unrecognised failures" section: the inbox's most recent signatures. */
export function renderUnclassifiedSection(signatures: readonly InboxSignature[] | null | undefined): SafeHtml {
  if (signatures === undefined) return html``;
  const heading = html`<h2 id="unclassified-h">Unrecognised failures</h2>`;
  if (signatures === null) {
    return html`<section id="unclassified" aria-labelledby="unclassified-h">${heading}<p>The unclassified inbox could not be read.</p></section>`;
  }
  if (signatures.length === 0) {
    return html`<section id="unclassified" aria-labelledby="unclassified-h">${heading}<p>Every failure seen so far matched a specific rule.</p></section>`;
  }
  const rows = signatures.map(
    (s) =>
      html`<tr><td data-label="Signature"><code>${s.id}</code></td><td data-label="Status" class="num">${s.statusCode === null ? '-' : String(s.statusCode)}</td><td data-label="Code"><code>${s.code || '-'}</code></td><td data-label="Message">${s.template}</td><td data-label="Rule">${s.ruleId}</td><td data-label="Events" class="num">${formatCount(s.count)}</td><td data-label="Credentials" class="num">${formatCount(s.credentials)}</td><td data-label="Last seen">${formatTime(s.lastSeen)}</td></tr>`,
  );
  return html`<section id="unclassified" aria-labelledby="unclassified-h">${heading}<p>Failures no specific rule recognises, grouped by signature. Turn one into a rule with <code>credwatch rules suggest ID --category CATEGORY</code>; all of them: <a href="api/unclassified">/api/unclassified</a>.</p>
<table><thead><tr><th>Signature</th><th>Status</th><th>Code</th><th>Message</th><th>Rule</th><th>Events</th><th>Credentials</th><th>Last seen</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}
