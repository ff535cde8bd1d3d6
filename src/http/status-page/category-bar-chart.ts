import type { Category } from '../../classify/categories.js';
import { formatCount, formatPercent } from './format.js';
import { html, type SafeHtml } from './safe-html.js';

/** One colour per category, shared by the chart and the tables (green healthy, reds for re-auth). */
export const CATEGORY_COLOURS: Readonly<Record<Category, string>> = {
  healthy: '#2e7d32',
  cognito_token_expired: '#c62828',
  wrong_organization_code: '#e65100',
  environment_mismatch: '#6a1b9a',
  missing_permission: '#ad1457',
  provider_unavailable: '#546e7a',
  not_connected: '#1565c0',
  unclassified: '#6d4c41',
};

/**
 * Bar lengths proportional to the counts, the largest filling `maxWidth`. A non-zero count gets at
 * least `minVisible` so one failing credential among a million healthy ones still shows.
 */
export function barWidths(counts: readonly number[], maxWidth: number, minVisible = 2): number[] {
  const max = Math.max(0, ...counts);
  if (max === 0) return counts.map(() => 0);
  return counts.map((c) => (c <= 0 ? 0 : Math.max(minVisible, Math.round((c / max) * maxWidth * 10) / 10)));
}

const VIEW_WIDTH = 480;
const LABEL_WIDTH = 190;
const BAR_MAX = 200;
const ROW_HEIGHT = 26;
const BAR_HEIGHT = 16;

/**
 * A horizontal bar chart of credentials per category as inline SVG: one labelled bar per category,
 * an accessible title and description, and a `<title>` tooltip on each bar.
 */
export function renderCategoryBarChart(rows: ReadonlyArray<{ category: Category; count: number }>): SafeHtml {
  const total = rows.reduce((sum, r) => sum + r.count, 0);
  const widths = barWidths(
    rows.map((r) => r.count),
    BAR_MAX,
  );
  const height = rows.length * ROW_HEIGHT + 4;
  const describe = (r: { category: Category; count: number }) =>
    `${r.category}: ${formatCount(r.count)} (${formatPercent(r.count, total)})`;
  const bars = rows.map((r, i) => {
    const y = i * ROW_HEIGHT + 2;
    const width = widths[i] ?? 0;
    return html`<g class="bar" data-category="${r.category}"><title>${describe(r)}</title><text x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT - 3}" text-anchor="end">${r.category}</text><rect x="${LABEL_WIDTH}" y="${y}" width="${width}" height="${BAR_HEIGHT}" rx="2" fill="${CATEGORY_COLOURS[r.category]}"/><text x="${LABEL_WIDTH + width + 6}" y="${y + BAR_HEIGHT - 3}">${formatCount(r.count)}</text></g>`;
  });
  return html`<svg class="chart" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 ${VIEW_WIDTH} ${height}" width="${VIEW_WIDTH}" height="${height}" font-size="13" font-family="system-ui, sans-serif" fill="#222"><title id="chart-title">Credentials per category (${formatCount(total)} in all)</title><desc id="chart-desc">${rows.map(describe).join('; ')}</desc>${bars}</svg>`;
}
