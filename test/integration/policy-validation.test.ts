// The offline validator against the real API server: every case of
// test/unit/fixtures/policy-validation-cases.yaml is created with dryRun=All and strict field
// validation under the installed CRD, and the fields the server refuses must be the fields
// validatePolicy refuses for the same object.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { ApiError } from '../../src/kube/client.js';
import { BUILD_QUOTA_POLICIES, collectionPath } from '../../src/kube/resources.js';
import { RULES_NOT_CHECKED, validatePolicy } from '../../src/api/validate.js';
import { uniqueName } from '../../envtest/cluster.js';
import { adminClient, installOperatorPrerequisites } from '../../envtest/install.js';

interface Case {
  name: string;
  spec: unknown;
  refused: string[];
}

const cases = yaml.load(
  readFileSync(new URL('../unit/fixtures/policy-validation-cases.yaml', import.meta.url), 'utf8'),
) as Case[];

const admin = adminClient();

beforeAll(async () => {
  await installOperatorPrerequisites(admin);
}, 60_000);

afterAll(() => admin.close());

const policy = (spec: unknown) => ({
  apiVersion: 'builds.toolforge.org/v1alpha1',
  kind: 'BuildQuotaPolicy',
  metadata: { name: uniqueName('validation') },
  spec,
});

/** The fields the API server refuses in the object, [] when it would create it. */
async function refusedByServer(body: unknown): Promise<string[]> {
  const failure = await admin
    .request('POST', collectionPath(BUILD_QUOTA_POLICIES), { query: { dryRun: 'All', fieldValidation: 'Strict' }, body })
    .then(() => undefined, (err: unknown) => err);
  if (failure === undefined) return [];
  if (!(failure instanceof ApiError)) throw failure;
  // Strict field validation refuses unknown fields while decoding, before any other check,
  // and names them only in the message: `strict decoding error: unknown field "spec.foo", ...`.
  const unknown = [...failure.message.matchAll(/unknown field "([^"]+)"/g)].map((m) => m[1] ?? '');
  // Causes without a field ("<nil>") name none: the rules-not-checked notice, and the CEL
  // type check's echo of a wrong-typed value, which the schema check also reports at its field.
  const invalid = failure.causes
    .map((c) => c.field ?? '')
    .filter((f) => f !== '' && f !== '<nil>');
  const fields = [...unknown, ...invalid];
  if (fields.length === 0) throw new Error(`refused without naming a field: ${failure.code} ${failure.message}`);
  return fields;
}

const refusedOffline = (body: unknown): string[] =>
  validatePolicy(body).filter((i) => i.message !== RULES_NOT_CHECKED).map((i) => i.field);

const sorted = (fields: string[]): string[] => [...new Set(fields)].sort();

describe('the API server and validatePolicy refuse the same fields', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const body = policy(c.spec);
    const server = sorted(await refusedByServer(body));
    // Both are held to the table, so a disagreement says which side moved.
    expect({ server, offline: sorted(refusedOffline(body)) }).toEqual({ server: sorted(c.refused), offline: sorted(c.refused) });
  });
});
