import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS, renderConfigTable } from '../src/config.js';
import { PROVIDER_IDS } from '../src/core/providers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('opens with the commands a newcomer needs', () => {
    const firstBlock = readme.slice(readme.indexOf('```sh'), readme.indexOf('```', readme.indexOf('```sh') + 5));
    expect(firstBlock).toContain('docker compose up');
    expect(firstBlock).toContain('npm ci && npx credwatch demo');
    expect(firstBlock).toContain('npm ci && npm test');
  });

  it('documents every configuration variable with its default, as the schema does', () => {
    for (const d of CONFIG_DOCS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${d.name}\` |`));
      expect(row, `${d.name} is missing from the README's configuration table`).toBeDefined();
      expect(row).toContain(d.default === '' ? '| — |' : `| \`${d.default}\` |`);
    }
  });

  it('carries the configuration table exactly as src/config.ts renders it', () => {
    expect(readme, 'regenerate the table with `npx credwatch config --markdown`').toContain(
      `-->\n${renderConfigTable()}\n<!-- /config-table -->`,
    );
  });

  it('lists every provider id and every command', () => {
    for (const id of PROVIDER_IDS) expect(readme).toContain(`\`${id}\``);
    const cli = readFileSync(new URL('../src/cli.ts', import.meta.url), 'utf8');
    const commands = [...cli.matchAll(/^\s+'?([a-z-]+)'?: \{\s*summary:/gm)].map((m) => m[1]);
    expect(commands.length).toBeGreaterThanOrEqual(6);
    for (const c of commands) expect(readme).toContain(`\`credwatch ${c}`);
  });
});
