/* global process, Buffer */
// A tiny webhook receiver for the compose demo: it answers 200 to every POST, prints one JSON line per
// request (credwatch webhooks and Alertmanager notifications alike) and keeps the last 100 in memory.
//   GET /requests  the last 100 requests, newest first     GET /healthz  200 "ok"
// It does not verify signatures: it shows what arrives. Plain node, no dependencies.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 9000);
const host = process.env.HOST ?? '0.0.0.0';
const KEEP = 100;
const MAX_BODY = 1024 * 1024;
const SHOWN_HEADERS = ['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp'];
const recent = [];

function summarise(body) {
  // Alertmanager's payload: keep the routing facts readable in the log line.
  if (body && typeof body === 'object' && Array.isArray(body.alerts) && typeof body.receiver === 'string') {
    return { receiver: body.receiver, status: body.status, alerts: body.alerts.map((a) => `${a.labels?.alertname} ${a.status}`) };
  }
  return undefined;
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  if (req.method === 'GET' && req.url === '/requests') {
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(recent, null, 2)}\n`);
  }
  if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= MAX_BODY) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_BODY) return void res.writeHead(413).end();
    const text = Buffer.concat(chunks).toString('utf8');
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    const headers = Object.fromEntries(SHOWN_HEADERS.filter((h) => req.headers[h] !== undefined).map((h) => [h, req.headers[h]]));
    const entry = { at: new Date().toISOString(), method: req.method, path: req.url, headers, summary: summarise(body), body };
    recent.unshift(entry);
    recent.length = Math.min(recent.length, KEEP);
    process.stdout.write(`${JSON.stringify(entry)}\n`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
  });
});

server.listen(port, host, () => {
  const address = server.address();
  process.stdout.write(`listening on http://${host}:${typeof address === 'object' && address ? address.port : port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
