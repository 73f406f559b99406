import { describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { unlessUnprocessed } from '../../client/reads.js';
import { startFailure } from '../../client/tracker.js';
import { DrmaaError } from '../../common/errors.js';

/** What @temporalio/client rejects a start with: a ServiceError whose cause is the gRPC error. */
function serviceError(code: number, details: string): Error {
  const grpc = Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
  return Object.assign(new Error('Failed to start Workflow'), { name: 'ServiceError', cause: grpc });
}

describe('a refused workflow start', () => {
  // Before, addJob let Temporal's ServiceError through untyped (a template over its 2 MiB payload limit).
  it.each([
    [3, 'Blob data size exceeds limit.', 'InvalidArgument'],
    [8, 'grpc: received message larger than max (5000455 vs. 4194304)', 'InvalidArgument'],
    [8, 'namespace rate limit exceeded', 'TryLater'],
    [8, 'Workflow is busy.', 'TryLater'],
    [7, 'Request unauthorized.', 'DeniedByDrms'],
    [14, 'No connection established', 'DrmCommunication'],
  ])('gRPC code %i is %s', (code, details, kind) => {
    const e = startFailure(serviceError(code, details), 'starting job s.1');
    expect(e).toBeInstanceOf(DrmaaError);
    expect(e).toMatchObject({ kind, message: `starting job s.1: Temporal refused it: ${details}` });
  });

  it('keeps a DRMAA2 error as it is, and leaves other errors alone', () => {
    const drmaa = new DrmaaError('InvalidArgument', 'bad');
    expect(startFailure(drmaa, 'x')).toBe(drmaa);
    const other = new TypeError('boom');
    expect(startFailure(other, 'x')).toBe(other);
  });
});

describe('an update the server rejected as unprocessed', () => {
  const rejected = (type: string) =>
    new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type, nonRetryable: true }));

  it('is sent again, and its answer is the answer', async () => {
    let sent = 0;
    const answer = await unlessUnprocessed(async () => {
      if (++sent < 3) throw rejected('UnprocessedUpdate');
      return 'running';
    });
    expect({ answer, sent }).toEqual({ answer: 'running', sent: 3 });
  });

  it('is given up after five sends; other failures are not sent again', async () => {
    let sent = 0;
    await expect(
      unlessUnprocessed(async () => {
        sent++;
        throw rejected('UnprocessedUpdate');
      }),
    ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    expect(sent).toBe(5);
    sent = 0;
    await expect(
      unlessUnprocessed(async () => {
        sent++;
        throw rejected('InvalidState');
      }),
    ).rejects.toThrow('Workflow Update failed');
    expect(sent).toBe(1);
  });
});
