import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { forbidRepeats } from '../../cli/flags.js';
import { addTemplateOptions } from '../../cli/template-options.js';

function program(): Command {
  const p = new Command('t').exitOverride().configureOutput({ writeErr: () => undefined });
  addTemplateOptions(
    p
      .command('run')
      .argument('[command...]')
      .action(() => undefined),
  );
  forbidRepeats(p);
  return p;
}

describe('flags given twice', () => {
  it('a single-valued flag given twice is a usage error that names it', async () => {
    const err = await program()
      .parseAsync(['run', '--hostname', 'a', '--hostname', 'b', 'true'], { from: 'user' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommanderError);
    expect((err as CommanderError).exitCode).toBe(2);
    expect((err as CommanderError).message).toMatch(/--hostname was given more than once/);
  });

  it('repeatable flags (their help says so) take every value', async () => {
    const p = program();
    await p.parseAsync(['run', '--env', 'A=1', '--env', 'B=2', 'true'], { from: 'user' });
    expect(p.commands[0]!.opts<{ env: string[] }>().env).toEqual(['A=1', 'B=2']);
    expect(p.commands[0]!.helpInformation()).toMatch(/--env <K=V>\s+jobEnvironment entry \(repeatable\)/);
  });

  it('a flag given once is taken as it is', async () => {
    const p = program();
    await p.parseAsync(['run', '--hostname', 'a', 'true'], { from: 'user' });
    expect(p.commands[0]!.opts<{ hostname: string }>().hostname).toBe('a');
  });
});
