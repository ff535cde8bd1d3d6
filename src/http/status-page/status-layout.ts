import { html, SafeHtml } from './safe-html.js';

// Inline only: the page loads nothing from anywhere (CSP default-src 'none'). Under 600px the wide tables
// stack into one card per row, each cell labelled from its data-label.
const CSS = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0 auto;max-width:1400px;padding:16px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px;margin-bottom:8px}
h1{font-size:1.4rem;margin:0}
h2{font-size:1.1rem;margin:0 0 10px}
.meta{color:#57606a;font-size:.85rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px 16px;margin:14px 0;min-width:0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin-bottom:14px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 10px}
.card .value{display:block;font-size:1.5rem;font-weight:600}
.card .label{color:#57606a;font-size:.85rem}
.overview{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px;align-items:start}
main>.overview{margin:14px 0}
main>.overview>section{margin:0}
.chart{display:block;max-width:100%;height:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-size:.85rem;color:#57606a;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.table-wrap{overflow-x:auto}
.id,.evidence code{overflow-wrap:anywhere;word-break:break-word}
table.credentials td.id a{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
.evidence code{font-size:.82rem;color:#424a53}
.badge{border-left:.8em solid #888;padding-left:6px}
a{color:#0550ae}
form.filter{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:end;margin-bottom:10px}
form.filter label{display:flex;flex-direction:column;font-size:.85rem;color:#57606a}
select,button{font:inherit;padding:4px 8px}
.pager{display:flex;gap:16px;margin-top:10px}
.empty{color:#57606a;font-style:italic}
.state-ok{color:#1a7f37;font-weight:600}
.state-idle{color:#57606a;font-weight:600}
.state-warn{color:#9a6700;font-weight:600}
.state-bad{color:#cf222e;font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.facts dt{color:#57606a}
dl.facts dd{margin:0}
ul.links{margin:0;padding-left:20px}
@media (max-width:800px){.overview{grid-template-columns:minmax(0,1fr)}}
@media (min-width:601px){
table.credentials td.id{white-space:nowrap;overflow-wrap:normal;word-break:normal}
table.credentials td.evidence{min-width:12em}
}
@media (max-width:600px){
body{padding:10px}
section{padding:12px}
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack tr{border:1px solid #d0d7de;border-radius:6px;margin-bottom:10px;padding:4px 0}
table.stack td{display:grid;grid-template-columns:7.5em minmax(0,1fr);gap:8px;border:0;padding:3px 10px}
table.stack td::before{content:attr(data-label);color:#57606a;font-size:.85rem}
table.stack td.num{text-align:left}
table.categories{font-size:.9rem}
table.categories .col-action{display:none}
dl.facts{grid-template-columns:minmax(0,1fr);gap:0}
dl.facts dd{margin-bottom:6px}
}
`;

// The stylesheet is a constant of this file, never data: it is emitted verbatim.
const STYLESHEET = new SafeHtml(CSS);

/** The HTML document around a page body: viewport meta, inline CSS, no external asset, no script. */
export function renderLayout(options: { title: string; body: SafeHtml; refreshSeconds?: number | undefined }): SafeHtml {
  // A meta refresh needs no script, so the script-free CSP stays as it is.
  const refresh =
    options.refreshSeconds === undefined
      ? ''
      : html`<meta http-equiv="refresh" content="${String(options.refreshSeconds)}">
`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${refresh}<link rel="icon" href="data:,">
<title>${options.title}</title>
<style>${STYLESHEET}</style>
</head>
<body>
${options.body}
</body>
</html>
`;
}

/** A small page for an error the reader can fix (a bad query parameter) or report. */
export function renderErrorPage(options: { status: number; title: string; message: string; back?: string }): SafeHtml {
  return renderLayout({
    title: `${options.status} ${options.title} · credwatch`,
    body: html`<section role="alert"><h1>${options.status} ${options.title}</h1><p>${options.message}</p><p><a href="${options.back ?? '?'}">Back to the status page</a></p></section>`,
  });
}
