// Properties of the client's validation and the template mapping over generated templates (no
// Podman, no Temporal: thousands of them in a second or two).
import { Client } from '@temporalio/client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PodmanTracker } from '../../client/tracker.js';
import { toContainerRequest } from '../../common/convert.js';
import { DrmaaError, ERROR_KINDS } from '../../common/errors.js';
import { parseJobTemplate, type JobTemplateInput } from '../../common/template.js';
import { templateCases, type CaseOptions } from '../template-arbitraries.js';

const SEED = Number(process.env.PODMAN_TRACKER_PROPERTY_SEED ?? 20261125);
// A client that is never connected: validate() starts nothing.
const tracker = new PodmanTracker({ client: new Client(), session: 'props' });
const options: CaseOptions = {
  image: 'localhost/img:latest',
  dir: '/srv/pt',
  inputFile: '/srv/pt/in.txt',
  inputText: 'in\n',
  hostName: 'host1',
  endToEnd: false,
};

/** The client's verdict: the template as a worker gets it, or the DRMAA2 error it is refused with. */
function verdict(template: unknown) {
  try {
    return tracker.validate(template as JobTemplateInput, 'props.1');
  } catch (err) {
    if (!(err instanceof DrmaaError)) throw err; // anything else is a crash of the client
    expect(ERROR_KINDS).toContain(err.kind);
    expect(err.message.trim()).not.toBe('');
    return err;
  }
}

/** Any JSON value, with the numbers JSON cannot carry and odd strings among them. */
const anyJson = fc.anything({
  maxDepth: 3,
  values: [fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null)],
});

describe('client validation', () => {
  it('answers any value with a template or a typed error, never a crash', () => {
    fc.assert(
      fc.property(fc.oneof(anyJson, fc.dictionary(fc.string(), anyJson)), (value) => {
        verdict(value);
      }),
      { numRuns: 3000, seed: SEED },
    );
  });

  it('refuses exactly the generated templates it must, with the kind it must', () => {
    fc.assert(
      fc.property(templateCases(options), ({ template, expected }) => {
        const v = verdict(template);
        const refused = v instanceof DrmaaError;
        expect(refused, refused ? v.message : 'accepted').toBe(expected.clientRefuses);
        if (refused) expect(expected.kinds).toContain(v.kind);
      }),
      { numRuns: 5000, seed: SEED },
    );
  });

  it('maps an accepted template to a create request that JSON carries exactly, its template label included', () => {
    fc.assert(
      fc.property(templateCases(options), ({ template }) => {
        const v = verdict(template);
        if (v instanceof DrmaaError) return;
        const req = toContainerRequest(v, { jobId: 'props.1', session: 'props' });
        // NaN, Infinity or a number past 2^53 would arrive at Podman as something else, or not parse.
        expect(JSON.parse(JSON.stringify(req.create))).toEqual(req.create);
        JSON.stringify(req.create, (_k, n: unknown) => {
          if (typeof n === 'number') expect(Number.isSafeInteger(n), String(n)).toBe(true);
          return n;
        });
        expect(parseJobTemplate(JSON.parse(req.create.Labels!['podman-tracker.template']!))).toEqual(v);
        const command = [...(v.remoteCommand ? [v.remoteCommand] : []), ...(v.args ?? [])];
        expect(req.create.Cmd ?? []).toEqual(command);
        for (const [k, value] of Object.entries(v.jobEnvironment ?? {}))
          expect(req.create.Env).toContain(`${k}=${value}`);
      }),
      { numRuns: 3000, seed: SEED },
    );
  });
});
