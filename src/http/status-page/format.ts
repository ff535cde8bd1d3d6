/** A time as `2026-11-02 10:15:03 UTC`, or an em dash when unknown or unparsable. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A duration for people: `850 ms`, `4.2 s`, `12 s`, `4 min 5 s`, `3 h 12 min`, `2 d 4 h`; a zero second unit is left out (`4 h`). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  // Rounded down, so 59.6 s reads "59 s", never "60 s".
  if (s < 60) return `${s < 10 ? (Math.floor(s * 10) / 10).toFixed(1) : Math.floor(s)} s`;
  const totalSeconds = Math.floor(s);
  const minutes = Math.floor(totalSeconds / 60);
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
  if (minutes < 60) return two(minutes, 'min', totalSeconds % 60, 's');
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return two(hours, 'h', minutes % 60, 'min');
  return two(Math.floor(hours / 24), 'd', hours % 24, 'h');
}

/** How long ago an ISO time was, relative to `nowMs` (`3 h 12 min ago`); an em dash when unknown. */
export function formatAgo(iso: string | null | undefined, nowMs: number): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '—';
  // Clocks of replicas differ a little: a time slightly in the future reads as "just now".
  return ms >= nowMs ? 'just now' : `${formatDuration(nowMs - ms)} ago`;
}

/** `part` as a share of `total` with one decimal (`97.3 %`); an em dash when total is 0. */
export function formatPercent(part: number, total: number): string {
  if (total <= 0) return '—';
  return `${((part / total) * 100).toFixed(1)} %`;
}

/** A count with thousands separators (`1,234,567`), the same whatever the server locale. */
export function formatCount(n: number): string {
  return Math.trunc(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
