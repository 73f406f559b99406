// Payload encryption: a Temporal PayloadCodec with AES-256-GCM under a key that workers and
// clients share, so that job templates (their environment above all), results and output are
// ciphertext in Temporal's history and database. Codecs run outside the workflow sandbox (in the
// worker and the client), which is why node:crypto is fine here.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto'; // CommonJS: Node's ESM loader sees no named exports in it
import { DrmaaError, invalidArgument } from './errors.js';

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface EncryptionKey {
  /** Derived from the key: a payload names the key it needs without anyone configuring IDs. */
  readonly id: string;
  readonly key: Buffer;
}

/** A key from its base64 form (`openssl rand -base64 32`). */
export function encryptionKey(base64: string, source = 'encryption key'): EncryptionKey {
  const text = base64.trim();
  const key = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.toString('base64') !== text || key.length !== KEY_BYTES) {
    throw invalidArgument(
      `${source}: a key is ${KEY_BYTES} bytes in base64 (make one with \`openssl rand -base64 32\`)` +
        (key.length && key.length !== KEY_BYTES ? `, not ${key.length} bytes` : ''),
    );
  }
  const id = createHash('sha256').update('podman-tracker key id\0').update(key).digest('hex').slice(0, 16);
  return { id, key };
}

/** Keys in a list (commas, blanks or lines; `#` starts a comment): the first encrypts, all decrypt. */
export function parseKeys(text: string, source = 'encryption keys'): EncryptionKey[] {
  const words = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(' ')
    .split(/[\s,]+/)
    .filter(Boolean);
  return words.map((w, i) => encryptionKey(w, `${source} (key ${i + 1})`));
}

const encode = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/**
 * Encrypts every payload, metadata included (the whole Payload message is the plaintext), with the
 * first key; decrypts with whichever key a payload names. Payloads that are not encrypted pass
 * through, so histories written before encryption was turned on stay readable.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly current: EncryptionKey;
  private readonly byId: ReadonlyMap<string, EncryptionKey>;

  constructor(keys: readonly EncryptionKey[]) {
    if (!keys[0]) throw invalidArgument('payload encryption needs at least one key');
    this.current = keys[0];
    this.byId = new Map(keys.map((k) => [k.id, k]));
  }

  get keyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const { id, key } = this.current;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(encode(id)); // the ciphertext is bound to the key ID it names
      const plain = PayloadMessage.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: encode(id) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (decode(p.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return p;
      const id = decode(p.metadata?.[KEY_ID_METADATA]);
      const k = id === undefined ? undefined : this.byId.get(id);
      if (!k) {
        throw new EncryptionKeyError(
          `a payload is encrypted with key ${id ?? '(none named)'}, which this process does not have ` +
            `(it has ${[...this.byId.keys()].join(', ')}): give it that key too (PODMAN_TRACKER_ENCRYPTION_KEY)`,
        );
      }
      const data = Buffer.from(p.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new EncryptionKeyError('an encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', k.key, data.subarray(0, IV_BYTES));
      decipher.setAAD(encode(k.id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new EncryptionKeyError(`an encrypted payload (key ${k.id}) fails authentication: it was altered`);
      }
      return PayloadMessage.decode(plain);
    });
  }
}

/** A payload this process cannot decrypt. */
export class EncryptionKeyError extends Error {
  override name = 'EncryptionKeyError';
}

/**
 * The DRMAA2 error for data a client could not decrypt: with the wrong keys, or with none (the
 * default converter then meets an encoding it does not know). Undefined for any other error.
 */
export function undecryptable(err: unknown, what: string): DrmaaError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof EncryptionKeyError) return new DrmaaError('DeniedByDrms', `${what}: ${e.message}`);
    if (e.message.includes(`Unknown encoding: ${ENCRYPTED_ENCODING}`)) {
      return new DrmaaError(
        'DeniedByDrms',
        `${what}: its data is encrypted and this client has no key: set PODMAN_TRACKER_ENCRYPTION_KEY ` +
          `(or PODMAN_TRACKER_ENCRYPTION_KEY_FILE) to the key the workers use`,
      );
    }
  }
  return undefined;
}
