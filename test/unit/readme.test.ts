// The README's "Using the library" is the consumer test's code (examples/consumer), word for word.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(`${repo}/README.md`, 'utf8');
const section = readme.slice(readme.indexOf('## Using the library'), readme.indexOf('## The command line'));
const sources = readdirSync(`${repo}/examples/consumer/src`);

describe('the README', () => {
  it.each(sources)('shows examples/consumer/src/%s as it is', (file) => {
    const code = readFileSync(`${repo}/examples/consumer/src/${file}`, 'utf8').trimEnd();
    expect(section).toContain(`\`\`\`ts\n${code}\n\`\`\``);
  });
});
