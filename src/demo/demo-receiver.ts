import { createServer, type Server } from 'node:http';
import { verifySignature } from '../webhooks/signing.js';

/** One webhook the demo receiver got. */
export interface ReceivedWebhook {
  id: string;
  type: string;
  verified: boolean;
  data: Record<string, unknown>;
}

/**
 * A loopback webhook receiver for `credwatch demo`: verifies each delivery's Standard Webhooks signature
 * the way an app would, and reports it. Answers 200 to verified deliveries, 401 to others.
 */
export async function startDemoReceiver(options: {
  secret: string;
  onWebhook: (webhook: ReceivedWebhook) => void;
  host?: string;
}): Promise<{ url: string; received: ReceivedWebhook[]; close(): Promise<void> }> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      const verified = verifySignature({
        secrets: [options.secret],
        msgId: id,
        timestamp: Number(req.headers['webhook-timestamp']),
        body,
        header: String(req.headers['webhook-signature'] ?? ''),
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      let parsed: { type?: unknown; data?: unknown } = {};
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        // Reported as unverified/unknown below.
      }
      const webhook: ReceivedWebhook = {
        id,
        type: typeof parsed.type === 'string' ? parsed.type : '(unparsable)',
        verified,
        data: (parsed.data && typeof parsed.data === 'object' ? parsed.data : {}) as Record<string, unknown>,
      };
      received.push(webhook);
      options.onWebhook(webhook);
      res.writeHead(verified ? 200 : 401, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/webhooks/credwatch`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
