import { describe, expect, it } from 'vitest';
import { DrmaaError } from '../../common/errors.js';
import { parseJobTemplate } from '../../common/template.js';

describe('JobTemplate schema', () => {
  it('accepts a template as drmaa2interface writes it, Go zero values included', () => {
    const t = parseJobTemplate({
      remoteCommand: 'sleep',
      args: ['1'],
      jobCategory: 'img',
      jobEnvironment: null,
      candidateMachines: null,
      startTime: '0001-01-01T00:00:00Z',
      deadlineTime: '2030-01-01T00:00:00+01:00',
      minSlots: 0,
      extension: { extensionList: { privileged: true, exposedPorts: 8080 } },
    });
    expect(t.startTime).toBeUndefined();
    expect(t.deadlineTime).toBe('2030-01-01T00:00:00+01:00');
    expect(t.extension?.extensionList).toEqual({ privileged: 'true', exposedPorts: '8080' });
    expect(t.jobEnvironment).toBeUndefined();
  });

  it.each([
    [{ args: 'x' }, /args/],
    [{ jobEnvironment: { A: 1 } }, /jobEnvironment.A/],
    [{ minSlots: 1.5 }, /minSlots/],
    [{ startTime: 'tomorrow' }, /startTime/],
    [{ colour: 'blue' }, /colour/],
    [{ extension: { other: {} } }, /extension/],
    ['not an object', /template/],
  ])('refuses %j as InvalidArgument naming the field', (input, field) => {
    let err: unknown;
    try {
      parseJobTemplate(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DrmaaError);
    expect((err as DrmaaError).kind).toBe('InvalidArgument');
    expect((err as DrmaaError).message).toMatch(field);
  });
});
