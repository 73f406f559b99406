// Payload encryption on the real stack: with a key shared by worker and client, the job's
// environment reaches the job and the client, but Temporal's history holds only ciphertext.
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodmanTracker } from '../../client/tracker.js';
import { dataConverterFor } from '../../common/data-converter.js';
import { encryptionKey, ENCRYPTED_ENCODING } from '../../common/encryption.js';
import { DrmaaError } from '../../common/errors.js';
import { stack } from '../helpers.js';
import { recordReplayKey } from '../histories.js';
import { startTracker, type TrackerFixture } from './fixtures.js';

const { History } = proto.temporal.api.history.v1;
type Payload = proto.temporal.api.common.v1.IPayload;

const newKey = () => {
  const base64 = randomBytes(32).toString('base64');
  recordReplayKey(base64); // the run's histories are replayed after the suite
  return encryptionKey(base64);
};
let f: TrackerFixture;

beforeAll(async () => {
  f = await startTracker('encryption', { encryptionKeys: [newKey()] });
});
afterAll(() => f?.close());

/** A tracker on the same worker whose client has these keys (none: Temporal's default converter). */
const trackerWith = (keys: ReturnType<typeof newKey>[]) =>
  new PodmanTracker({
    client: new Client({ connection: f.client.connection, dataConverter: dataConverterFor(keys) }),
    session: f.session,
    taskQueue: f.taskQueue,
  });

/** The job's history as Temporal stores it: raw bytes, and every payload in it. */
async function rawHistory(jobId: string): Promise<{ bytes: Buffer; payloads: Array<{ path: string; p: Payload }> }> {
  const history = await f.client.workflow.getHandle(jobId).fetchHistory();
  const payloads: Array<{ path: string; p: Payload }> = [];
  const walk = (node: unknown, path: string) => {
    if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
    if ('metadata' in node && 'data' in node) payloads.push({ path, p: node as Payload });
    for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`);
  };
  walk(history, 'history');
  return { bytes: Buffer.from(History.encode(history).finish()), payloads };
}

const encoding = (p: Payload) => Buffer.from(p.metadata?.encoding ?? []).toString();
const job = (secret: string) => ({
  jobCategory: stack.testImage,
  remoteCommand: 'sh',
  args: ['-c', 'echo "the job sees $SECRET"'],
  jobEnvironment: { SECRET: secret },
});

describe('with encryption on', () => {
  let secret: string;
  let id: string;
  beforeAll(async () => {
    secret = `secret-${randomUUID()}`;
    id = await f.tracker.addJob(job(secret));
    await f.tracker.wait(id);
  });

  it('the job sees its environment, and the client reads it back decrypted', async () => {
    const r = await f.tracker.result(id);
    expect(r.info.state).toBe('done');
    expect(r.stdout).toBe(`the job sees ${secret}\n`);
    expect((await f.tracker.jobTemplate(id)).jobEnvironment).toEqual({ SECRET: secret });
  });

  it('the history holds no clear text of it: every payload is encrypted', async () => {
    const { bytes, payloads } = await rawHistory(id);
    expect(bytes.includes(secret)).toBe(false);
    expect(bytes.includes(Buffer.from(secret).toString('base64'))).toBe(false);
    // Workflow input, local activities' bookkeeping and results, the workflow's result: a short job
    // has at least these four, and all but the bookkeeping are ciphertext.
    expect(payloads.length).toBeGreaterThanOrEqual(4);
    // A local activity's marker carries the SDK's own bookkeeping (sequence, attempt, activity type,
    // times) as clear JSON; its result, like every other payload, is ciphertext.
    const bookkeeping = /markerRecordedEventAttributes\.details\.data\./;
    const markers = payloads.filter(({ path }) => bookkeeping.test(path));
    for (const { p } of markers) expect(Object.keys(JSON.parse(Buffer.from(p.data!).toString())).sort()).toEqual(['activity_id', 'activity_type', 'attempt', 'backoff', 'complete_time', 'original_schedule_time', 'seq']); // prettier-ignore
    for (const { path, p } of payloads.filter((x) => !markers.includes(x)))
      expect(encoding(p), path).toBe(ENCRYPTED_ENCODING);
  });

  it('a client without the key cannot read it', async () => {
    for (const read of [(t: PodmanTracker) => t.jobTemplate(id), (t: PodmanTracker) => t.result(id)]) {
      const err = await read(trackerWith([])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DrmaaError);
      expect((err as DrmaaError).kind).toBe('DeniedByDrms');
      expect((err as DrmaaError).message).toMatch(/its data is encrypted and this client has no key/);
    }
  });

  it('nor can a client with another key', async () => {
    const err = await trackerWith([newKey()])
      .jobTemplate(id)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DrmaaError);
    expect((err as DrmaaError).message).toMatch(/encrypted with key [0-9a-f]{16}, which this process does not have/);
  });
});

it('control: what a client without the key submits is clear text in the history (and the search finds it)', async () => {
  const secret = `clear-${randomUUID()}`;
  const id = await trackerWith([]).addJob(job(secret));
  // The worker still runs it (payloads that are not encrypted pass through), and encrypts what it writes.
  expect((await f.tracker.result(id)).stdout).toBe(`the job sees ${secret}\n`);
  const { bytes, payloads } = await rawHistory(id);
  expect(bytes.includes(secret)).toBe(true);
  expect(encoding(payloads[0]!.p)).toBe('json/plain');
});
