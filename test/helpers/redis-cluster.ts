import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitForRedis } from './redis-server.js';

const MISSING =
  'needs `redis-server` and `redis-cli` on PATH to build a three-node Redis Cluster ' +
  '(Debian/Ubuntu: apt-get install redis-server redis-tools)';

function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

/** Three `redis-server --cluster-enabled yes` nodes on loopback (no replicas), created with `redis-cli --cluster create`. */
export class RedisClusterProcess {
  private constructor(
    readonly ports: number[],
    private readonly children: ChildProcess[],
    private readonly dir: string,
  ) {}

  /** The daemon's REDIS_URL for this cluster. */
  get url(): string {
    return `redis+cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  /** Starts the nodes on free ports, joins them into one cluster and waits for `cluster_state:ok`. */
  static async start(): Promise<RedisClusterProcess> {
    if (!onPath('redis-server') || !onPath('redis-cli')) throw new Error(`Redis Cluster test ${MISSING}`);
    const dir = mkdtempSync(join(tmpdir(), 'credwatch-cluster-'));
    const ports: number[] = [];
    const children: ChildProcess[] = [];
    const cluster = new RedisClusterProcess(ports, children, dir);
    try {
      for (let i = 0; i < 3; i += 1) {
        // The cluster bus needs its own port; Redis 7's cluster-port frees us from port + 10000.
        const port = await freePort();
        const busPort = await freePort();
        const nodeDir = mkdtempSync(join(dir, `node-${i}-`));
        const args = [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          nodeDir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '5000',
          '--maxmemory-policy',
          'noeviction',
        ];
        const child = spawn('redis-server', args, { stdio: 'ignore' });
        children.push(child);
        await new Promise<void>((resolve, reject) => {
          child.once('error', (error) => reject(new Error(`could not run redis-server: ${error.message}`)));
          child.once('spawn', () => resolve());
        });
        ports.push(port);
        await waitForRedis(`redis://127.0.0.1:${port}`);
      }
      const create = spawnSync(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        {
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.status}): ${create.stdout}${create.stderr}`);
      await cluster.waitForOk();
      return cluster;
    } catch (error) {
      await cluster.dispose();
      throw error;
    }
  }

  private async waitForOk(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const states = await Promise.all(
        this.ports.map(async (port) => {
          const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
          client.on('error', () => undefined);
          try {
            await client.connect();
            const info = String(await client.call('CLUSTER', 'INFO'));
            return /cluster_state:ok/.test(info) && /cluster_known_nodes:3/.test(info);
          } catch (error) {
            last = String(error);
            return false;
          } finally {
            client.disconnect();
          }
        }),
      );
      if (states.every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`Redis Cluster on ports ${this.ports.join(', ')} did not reach cluster_state:ok within ${timeoutMs} ms ${last}`);
  }

  /** Kills every node and removes the data directories. */
  async dispose(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
