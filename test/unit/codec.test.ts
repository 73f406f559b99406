// Payload encryption: AES-256-GCM under shared keys, key IDs for rotation, tampering detected.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, ValueError, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { dataConverterFor, encryptionKeysFromEnv } from '../../common/data-converter.js';
import {
  EncryptionCodec,
  EncryptionKeyError,
  encryptionKey,
  KEY_ID_METADATA,
  parseKeys,
  undecryptable,
} from '../../common/encryption.js';
import { DrmaaError } from '../../common/errors.js';

const newKey = () => encryptionKey(randomBytes(32).toString('base64'));
const secret = `s3cr3t-${randomBytes(6).toString('hex')}`;
const payload = (): Payload => defaultPayloadConverter.toPayload({ jobEnvironment: { SECRET: secret } });
const text = (p: Payload) => Buffer.concat([...Object.values(p.metadata ?? {}), p.data ?? new Uint8Array()]);

async function failure(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected a failure');
  return err;
}

describe('EncryptionCodec', () => {
  it('round-trips payloads, metadata included, and leaves no clear text in the encoded form', async () => {
    const codec = new EncryptionCodec([newKey()]);
    const [encoded] = await codec.encode([payload()]);
    expect(text(encoded!).includes(secret)).toBe(false);
    expect(text(encoded!).includes('json/plain')).toBe(false);
    expect(Object.keys(encoded!.metadata ?? {}).sort()).toEqual(['encoding', KEY_ID_METADATA]);
    expect(Buffer.from(encoded!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ jobEnvironment: { SECRET: secret } });
  });

  it('uses a fresh IV for every payload', async () => {
    const codec = new EncryptionCodec([newKey()]);
    const [a, b] = await codec.encode([payload(), payload()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('passes payloads that are not encrypted through (histories from before encryption)', async () => {
    const codec = new EncryptionCodec([newKey()]);
    const plain = payload();
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('detects tampering with the ciphertext, the IV or the tag', async () => {
    const codec = new EncryptionCodec([newKey()]);
    const [encoded] = await codec.encode([payload()]);
    for (const at of [0, 20, encoded!.data!.length - 1]) {
      const data = Buffer.from(encoded!.data!);
      data[at] = data[at]! ^ 1;
      const err = await failure(codec.decode([{ ...encoded!, data }]));
      expect(err).toBeInstanceOf(EncryptionKeyError);
      expect(err.message).toMatch(/fails authentication: it was altered/);
    }
    const err = await failure(codec.decode([{ ...encoded!, data: encoded!.data!.subarray(0, 10) }]));
    expect(err.message).toMatch(/truncated/);
  });

  it('refuses a payload relabelled with another key ID', async () => {
    const [a, b] = [newKey(), newKey()];
    const [encoded] = await new EncryptionCodec([a]).encode([payload()]);
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from(b.id) } };
    expect((await failure(new EncryptionCodec([a, b]).decode([relabelled]))).message).toMatch(/fails authentication/);
  });

  it('refuses a payload of a key it does not have, naming both key IDs', async () => {
    const [a, b] = [newKey(), newKey()];
    const [encoded] = await new EncryptionCodec([a]).encode([payload()]);
    const err = await failure(new EncryptionCodec([b]).decode([encoded!]));
    expect(err).toBeInstanceOf(EncryptionKeyError);
    expect(err.message).toContain(`encrypted with key ${a.id}, which this process does not have (it has ${b.id})`);
  });

  it('rotates: encrypts with the first key, decrypts with any of them', async () => {
    const [old, current] = [newKey(), newKey()];
    const [before] = await new EncryptionCodec([old]).encode([payload()]);
    const rotated = new EncryptionCodec([current, old]);
    expect(rotated.keyId).toBe(current.id);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([before!]))[0]!)).toMatchObject({
      jobEnvironment: { SECRET: secret },
    });
    const [after] = await rotated.encode([payload()]);
    expect(Buffer.from(after!.metadata![KEY_ID_METADATA]!).toString()).toBe(current.id);
  });

  it('cannot be read by a converter without the codec', async () => {
    const [encoded] = await new EncryptionCodec([newKey()]).encode([payload()]);
    let err: unknown;
    try {
      defaultPayloadConverter.fromPayload(encoded!);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValueError);
    expect(undecryptable(err, 'job x')).toMatchObject({ kind: 'DeniedByDrms' });
    expect(undecryptable(err, 'job x')?.message).toMatch(/^job x: its data is encrypted and this client has no key/);
  });
});

describe('keys', () => {
  it('are 32 bytes of base64, with an ID derived from the key', () => {
    const b64 = randomBytes(32).toString('base64');
    expect(encryptionKey(b64).id).toBe(encryptionKey(` ${b64}\n`).id);
    expect(encryptionKey(b64).id).toMatch(/^[0-9a-f]{16}$/);
    expect(encryptionKey(b64).id).not.toBe(newKey().id);
    expect(() => encryptionKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes in base64 .*, not 16 bytes/);
    expect(() => encryptionKey('not base64 at all!')).toThrow(/openssl rand -base64 32/);
    expect(() => encryptionKey('')).toThrow(DrmaaError);
  });

  it('come as a list: commas, blanks, lines, comments', () => {
    const [a, b, c] = [0, 1, 2].map(() => randomBytes(32).toString('base64'));
    const keys = parseKeys(`# current\n${a}\n\n${b}, ${c} # older\n`);
    expect(keys.map((k) => k.id)).toEqual([a, b, c].map((k) => encryptionKey(k!).id));
  });

  it('are read from PODMAN_TRACKER_ENCRYPTION_KEY or a key file, not both', async () => {
    const [a, b] = [0, 1].map(() => randomBytes(32).toString('base64'));
    const file = join(await mkdtemp(join(tmpdir(), 'pt-keys-')), 'keys');
    await writeFile(file, `${a}\n${b}\n`, { mode: 0o600 });
    expect(encryptionKeysFromEnv({})).toEqual([]);
    expect(encryptionKeysFromEnv({ PODMAN_TRACKER_ENCRYPTION_KEY: `${a},${b}` }).map((k) => k.id)).toHaveLength(2);
    expect(encryptionKeysFromEnv({ PODMAN_TRACKER_ENCRYPTION_KEY_FILE: file })[0]!.id).toBe(encryptionKey(a!).id);
    expect(() =>
      encryptionKeysFromEnv({ PODMAN_TRACKER_ENCRYPTION_KEY: a, PODMAN_TRACKER_ENCRYPTION_KEY_FILE: file }),
    ).toThrow(/not both/);
    expect(() => encryptionKeysFromEnv({ PODMAN_TRACKER_ENCRYPTION_KEY_FILE: `${file}.missing` })).toThrow(
      /cannot read/,
    );
    await writeFile(file, '# nothing yet\n');
    expect(() => encryptionKeysFromEnv({ PODMAN_TRACKER_ENCRYPTION_KEY_FILE: file })).toThrow(/holds no key/);
    expect(() => encryptionKeysFromEnv({ PODMAN_TRACKER_ENCRYPTION_KEY: 'short' })).toThrow(
      /PODMAN_TRACKER_ENCRYPTION_KEY \(key 1\)/,
    );
  });

  it('make a data converter with the codec; none, the default one', () => {
    expect(dataConverterFor([])).toEqual({});
    expect(dataConverterFor([newKey()]).payloadCodecs?.[0]).toBeInstanceOf(EncryptionCodec);
  });
});
