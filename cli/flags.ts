// Flag checks the command line makes before anything runs: whole numbers, and single-valued flags
// given once (commander keeps the last of a repeated flag without a word).
import { InvalidArgumentError, type Command, type Option } from 'commander';
import type { TemplateFlags } from './template-options.js';

export interface RunFlags extends TemplateFlags {
  interactive?: boolean;
  detach?: boolean;
  attach?: string;
  sigProxy: boolean;
}

export interface ArrayFlags extends TemplateFlags {
  begin: number;
  end: number;
  step: number;
  maxParallel: number;
  wait?: boolean;
}

export function intArg(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an integer`);
  return Number(value);
}

/** Flags that take many values say so in their help; they may come more than once. */
const isRepeatable = (o: Option) => o.variadic || /repeatable/i.test(o.description);

/** Makes a repeated single-valued flag a usage error that names it, on every command. */
export function forbidRepeats(cmd: Command): void {
  for (const option of cmd.options) {
    if (!(option.required || option.optional) || isRepeatable(option)) continue;
    let seen = 0;
    cmd.on(`option:${option.name()}`, () => {
      if (++seen > 1) {
        cmd.error(`${option.long ?? option.short} was given more than once; it takes one value`, {
          code: 'podman-tracker.repeatedOption',
          exitCode: 2,
        });
      }
    });
  }
  for (const sub of cmd.commands) forbidRepeats(sub);
}
