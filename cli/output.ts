// What the command prints: results on stdout, errors on stderr in one line (or JSON with --json),
// and the exit statuses.
import type { TemporalFlags } from '../client/connection.js';

export interface Globals extends TemporalFlags {
  taskQueue: string;
  session: string;
  json?: boolean;
}

/** A usage error: a flag or argument the command cannot take. */
export const USAGE = 2;

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function json(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** A state as scripts read it: `running` or `running restarting`; with --json, {"state","subState"}. */
export function printStatus(g: Globals, s: { state: string; subState: string }): void {
  if (g.json) json(s);
  else out(s.subState ? `${s.state} ${s.subState}` : s.state);
}

export function failure(g: Globals, kind: string, message: string, status: number): void {
  if (g.json) process.stderr.write(`${JSON.stringify({ error: { kind, message } })}\n`);
  else process.stderr.write(`error: ${kind}: ${message}\n`);
  process.exitCode = status;
}

let refuse: (err: unknown) => void = () => undefined;
let check: Promise<void> | undefined;
/**
 * Rejects when Temporal refused this command's connection (checked beside its first call, see
 * cli/session.ts): the command is then over, whatever call of it still waits.
 */
export const connectionRefused = new Promise<never>((_, reject) => (refuse = reject));
connectionRefused.catch(() => undefined);

/** The check of this command's connection, which says why Temporal refused it if it did. */
export function watchConnection(checked: Promise<void>): void {
  check = checked;
  checked.catch(refuse);
}

/** Why Temporal refused this command's connection, once the check has answered; undefined if it did not. */
export function connectionRefusal(): Promise<unknown> {
  return check
    ? check.then(
        () => undefined,
        (err: unknown) => err,
      )
    : Promise.resolve(undefined);
}

/** A note to the user beside a command's output, as podman-tracker's own words. */
export function note(text: string): void {
  process.stderr.write(`podman-tracker: ${text}\n`);
}

const cleanups: Array<() => Promise<void>> = [];

/** Something to close before the command exits (the Temporal connection). */
export function atExit(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

export async function cleanUp(): Promise<void> {
  await Promise.all(cleanups.splice(0).map((fn) => fn().catch(() => undefined)));
}
