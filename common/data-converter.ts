// The data converter of every Temporal client and worker of podman-tracker: payload encryption
// when a key is configured (PODMAN_TRACKER_ENCRYPTION_KEY or PODMAN_TRACKER_ENCRYPTION_KEY_FILE),
// Temporal's default otherwise. Workers and clients must share the keys.
import { readFileSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, parseKeys, type EncryptionKey } from './encryption.js';
import { invalidArgument } from './errors.js';

export const ENCRYPTION_ENV = {
  /** Base64 keys, comma-separated: the first encrypts, the others only decrypt (older keys, during a rotation). */
  key: 'PODMAN_TRACKER_ENCRYPTION_KEY',
  /** A file of such keys, one a line (`#` comments); keeps the keys out of the environment. */
  keyFile: 'PODMAN_TRACKER_ENCRYPTION_KEY_FILE',
} as const;

/** The keys the environment names; none: no encryption. */
export function encryptionKeysFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionKey[] {
  const inline = env[ENCRYPTION_ENV.key]?.trim();
  const file = env[ENCRYPTION_ENV.keyFile]?.trim();
  if (inline && file) throw invalidArgument(`set ${ENCRYPTION_ENV.key} or ${ENCRYPTION_ENV.keyFile}, not both`);
  if (inline) return parseKeys(inline, ENCRYPTION_ENV.key);
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalidArgument(`${ENCRYPTION_ENV.keyFile}: cannot read ${file}: ${(err as Error).message}`);
  }
  const keys = parseKeys(text, file);
  if (!keys.length) throw invalidArgument(`${ENCRYPTION_ENV.keyFile}: ${file} holds no key`);
  return keys;
}

/** A data converter that encrypts with the first key (and decrypts with any); the default without keys. */
export function dataConverterFor(keys: readonly EncryptionKey[] = []): DataConverter {
  return keys.length ? { payloadCodecs: [new EncryptionCodec(keys)] } : {};
}

/** The data converter for a Temporal client: `new Client({ connection, dataConverter: dataConverterFromEnv() })`. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter {
  return dataConverterFor(encryptionKeysFromEnv(env));
}
