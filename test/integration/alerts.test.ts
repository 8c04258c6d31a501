// The alerting rules an admin loads (manifests/prometheus/): valid for Prometheus, each alert
// proven to fire and not to fire by `promtool test rules`, and the Prometheus Operator's
// PrometheusRule holding exactly the same groups as the plain rules file.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { promtoolPath } from '../../envtest/admin-tools.js';
import { repoRoot } from '../../envtest/controlplane.js';

const dir = join(repoRoot(), 'manifests/prometheus');
const promtool = promtoolPath();
const load = (file: string) => yaml.load(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;

function run(args: string[]): string {
  const result = spawnSync(promtool, args, { cwd: dir, encoding: 'utf8' });
  if (result.error) throw new Error(`${promtool} could not run (make testenv builds it): ${result.error.message}`);
  expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toMatchObject({ status: 0 });
  return `${result.stdout}${result.stderr}`;
}

describe('the alerting rules', () => {
  it('are valid rules for Prometheus', () => {
    expect(run(['check', 'rules', 'alerts.yaml'])).toContain('SUCCESS: 8 rules found');
  });

  it('fire and stay silent as each case in alerts.test.yaml says', () => {
    expect(run(['test', 'rules', 'alerts.test.yaml'])).toContain('SUCCESS');
    // Every alert has a case, so a new alert cannot come without its test.
    const alerts = (load('alerts.yaml').groups as { rules: { alert: string }[] }[]).flatMap((g) => g.rules.map((r) => r.alert));
    const tested = new Set(readFileSync(join(dir, 'alerts.test.yaml'), 'utf8').match(/alertname: (\w+)/g)?.map((m) => m.slice('alertname: '.length)));
    expect(alerts.filter((a) => !tested.has(a))).toEqual([]);
  });

  it('are the same groups in the PrometheusRule as in the plain rules file', () => {
    const rule = load('prometheus-rule.yaml');
    expect(rule).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    expect((rule.spec as { groups: unknown }).groups).toEqual(load('alerts.yaml').groups);
  });

  it('catch a broken rule: promtool refuses one', () => {
    const result = spawnSync(promtool, ['check', 'rules', '/dev/stdin'], {
      input: 'groups: [{name: x, rules: [{alert: Broken, expr: "sum(("}]}]\n', encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
  });
});
