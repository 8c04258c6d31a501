import { describe, expect, it } from '@jest/globals';
import { objectKey, RecentWrites } from '../../src/controller/recent-writes.js';
import type { KubeObject } from '../../src/api/meta.js';

const quota = (resourceVersion: string, pods = '4'): KubeObject & { spec: unknown } => ({
  apiVersion: 'v1', kind: 'ResourceQuota',
  metadata: { name: 'build-quota', namespace: 'image-build-tool-a', resourceVersion },
  spec: { hard: { pods } },
});
const key = objectKey(quota('1'));

describe('RecentWrites', () => {
  it('answers with our write while the cache is older, and drops it once the cache caught up', () => {
    const recent = new RecentWrites();
    recent.remember(quota('12', '5'), quota('10'));
    expect(recent.newest(key, quota('10'))).toEqual(quota('12', '5'));
    expect(recent.size).toBe(1);
    expect(recent.newest(key, quota('12', '5'))).toEqual(quota('12', '5'));
    expect(recent.size).toBe(0);
  });

  it('keeps nothing when the watch brought the echo before the write answered', () => {
    const recent = new RecentWrites();
    expect(recent.seen(quota('12', '5'))).toBe(false);
    recent.remember(quota('12', '5'), quota('12', '5'));
    expect(recent.size).toBe(0);
    // An even newer cached object (someone edited it since) wins too.
    recent.remember(quota('12', '5'), quota('15', '999'));
    expect(recent.size).toBe(0);
    expect(recent.newest(key, quota('15', '999'))).toEqual(quota('15', '999'));
  });

  it('forgets an older entry of the same object when the cache already holds the newer write', () => {
    const recent = new RecentWrites();
    recent.remember(quota('12', '5'));
    recent.remember(quota('14', '6'), quota('14', '6'));
    expect(recent.size).toBe(0);
  });

  it('drops our write when its watch event arrives, and says whether it was the echo', () => {
    const recent = new RecentWrites();
    recent.remember(quota('12', '5'), undefined);
    expect(recent.seen(quota('11'))).toBe(false);
    expect(recent.size).toBe(1);
    expect(recent.seen(quota('12', '5'))).toBe(true);
    expect(recent.size).toBe(0);
  });

  it('keeps nothing without a numeric resourceVersion', () => {
    const recent = new RecentWrites();
    recent.remember(quota('opaque'));
    expect(recent.size).toBe(0);
  });
});
