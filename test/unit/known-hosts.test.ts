// known_hosts as OpenSSH writes and reads it. The keys, fingerprints and hashed lines below were
// made by ssh-keygen (OpenSSH 9.2): `ssh-keygen -lf`, and `ssh-keygen -H` on a plain file.
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  fingerprint,
  hostKeyName,
  knownHostsLine,
  parseKnownHosts,
  recordedKeyTypes,
} from '../../activities/known-hosts.js';

const ED_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIOETAsVIsrATpvOps0nBC+80ghCoi0fnq+bHxEWtrwhn';
const ED_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIBhKQ5FE4hWrNk9X4sqvHe6QWWGfCAuqav4PY2JAHy7T';
const ECDSA =
  'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLgqCZk662gPU5EImhWjiLo2etj5g8Dtp/r8YNuxOdvM08Z5G6Ob3SKgDgQzkBNhcxSrx2p3+BpZFMSPLM//Uzo=';
const key = (b64: string) => Buffer.from(b64, 'base64');

describe('known_hosts', () => {
  it('prints fingerprints as ssh-keygen -l does', () => {
    expect(fingerprint(key(ED_A))).toBe('SHA256:STWdmnbc4222qS42bfw3VbgQT3lkORdUwIJeoHvOasw');
    expect(fingerprint(key(ECDSA))).toBe('SHA256:8QQVPPtyIswmIEnJ8/auKnFPrYbkYr8cKjtbuJ4edqg');
  });

  it('names a host as known_hosts files it: bare on port 22, [host]:port otherwise', () => {
    expect(hostKeyName('Example.ORG', 22)).toBe('example.org');
    expect(hostKeyName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(hostKeyName('::1', 2222)).toBe('[::1]:2222');
  });

  it('parses plain lines with comments, markers and key comments; skips what ssh would skip', () => {
    const entries = parseKnownHosts(
      [
        '# a comment',
        '',
        `example.org,192.0.2.1 ssh-ed25519 ${ED_A} root@example`,
        `@revoked bad.example ssh-ed25519 ${ED_B}`,
        `@cert-authority *.example ssh-ed25519 ${ED_B}`,
        `@weird host ssh-ed25519 ${ED_B}`,
        `host-with-wrong-type ssh-rsa ${ED_A}`,
        'truncated ssh-ed25519',
        `  indented ecdsa-sha2-nistp256 ${ECDSA}  `,
      ].join('\r\n'),
    );
    expect(entries.map((e) => [e.line, e.marker, e.hosts, e.keyType])).toEqual([
      [3, undefined, 'example.org,192.0.2.1', 'ssh-ed25519'],
      [4, 'revoked', 'bad.example', 'ssh-ed25519'],
      [5, 'cert-authority', '*.example', 'ssh-ed25519'],
      [9, undefined, 'indented', 'ecdsa-sha2-nistp256'],
    ]);
    expect(entries[0]!.key.equals(key(ED_A))).toBe(true);
  });

  it('matches hashed entries, for port 22 and for [host]:port', () => {
    const entries = parseKnownHosts(
      `|1|pjZlerg5EI5/daCOL53Oi9D8G2s=|pUjbqv0NXgtfkfoxwvoIKNO3Q4Q= ssh-ed25519 ${ED_A}\n` +
        `|1|mJcHxbtXE75IdGYbsUucrHsMPoU=|LZKefkO+P4x0gHAL7i0StW2IX/s= ssh-ed25519 ${ED_B}\n`,
    );
    expect(checkHostKey(entries, 'example.org', key(ED_A))).toMatchObject({ status: 'known', entry: { line: 1 } });
    expect(checkHostKey(entries, '[example.org]:2222', key(ED_B))).toMatchObject({
      status: 'known',
      entry: { line: 2 },
    });
    // The port-22 entry does not vouch for another port, nor for another name.
    expect(checkHostKey(entries, '[example.org]:2222', key(ED_A)).status).toBe('changed');
    expect(checkHostKey(entries, 'example.net', key(ED_A)).status).toBe('unknown');
  });

  it('matches patterns: lists, wildcards, negations, case; [host]:port literally', () => {
    const entries = parseKnownHosts(
      [
        `*.example.org,!secret.example.org ssh-ed25519 ${ED_A}`,
        `node?.lab ssh-ed25519 ${ED_A}`,
        `[127.0.0.1]:2222 ssh-ed25519 ${ED_A}`,
      ].join('\n'),
    );
    const status = (name: string) => checkHostKey(entries, name, key(ED_A)).status;
    expect(status('a.example.org')).toBe('known');
    expect(status('A.EXAMPLE.ORG')).toBe('known');
    expect(status('secret.example.org')).toBe('unknown');
    expect(status('node1.lab')).toBe('known');
    expect(status('node10.lab')).toBe('unknown');
    expect(status('[127.0.0.1]:2222')).toBe('known');
    expect(status('127.0.0.1')).toBe('unknown');
    expect(status('[127.0.0.1]:2223')).toBe('unknown');
  });

  it('says changed when the host is recorded with other keys, and names them', () => {
    const entries = parseKnownHosts(`h ssh-ed25519 ${ED_A}\nh ecdsa-sha2-nistp256 ${ECDSA}\n`);
    expect(checkHostKey(entries, 'h', key(ECDSA))).toMatchObject({ status: 'known', entry: { line: 2 } });
    const v = checkHostKey(entries, 'h', key(ED_B));
    expect(v.status).toBe('changed');
    if (v.status === 'changed') expect(v.recorded.map((e) => e.line)).toEqual([1, 2]);
  });

  it('refuses a revoked key even where another line trusts it; ignores certificate authorities', () => {
    const entries = parseKnownHosts(`h ssh-ed25519 ${ED_A}\n@revoked * ssh-ed25519 ${ED_A}\n`);
    expect(checkHostKey(entries, 'h', key(ED_A))).toMatchObject({ status: 'revoked', entry: { line: 2 } });
    const ca = parseKnownHosts(`@cert-authority h ssh-ed25519 ${ED_A}\n`);
    expect(checkHostKey(ca, 'h', key(ED_A)).status).toBe('unknown');
  });

  it('lists the key types recorded for a host, so they can be asked for first', () => {
    const entries = parseKnownHosts(
      `h ecdsa-sha2-nistp256 ${ECDSA}\nh ssh-ed25519 ${ED_A}\nother ssh-ed25519 ${ED_B}\n@revoked h ssh-ed25519 ${ED_B}\n`,
    );
    expect(recordedKeyTypes(entries, 'h')).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(recordedKeyTypes(entries, 'nobody')).toEqual([]);
  });

  it('writes a line that it reads back as known', () => {
    const line = knownHostsLine('[127.0.0.1]:2222', key(ECDSA));
    expect(line).toBe(`[127.0.0.1]:2222 ecdsa-sha2-nistp256 ${ECDSA}`);
    expect(checkHostKey(parseKnownHosts(line), '[127.0.0.1]:2222', key(ECDSA)).status).toBe('known');
  });
});
