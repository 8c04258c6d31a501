import { liveHeapGrowth, peakRssTargetMB, type FleetReport } from '../../bench/run.js';

const report = (tools: number, liveHeapMB?: number) => ({ tools, memory: { liveHeapMB } }) as unknown as FleetReport;

describe('the fleet report', () => {
  it('gives the live heap each added tool costs, between consecutive sizes measured', () => {
    // 1,000 → 10,000: 27 MB more for 9,000 tools; 10,000 → 30,000: 60 MB for 20,000.
    expect(liveHeapGrowth([report(10_000, 50), report(1_000, 23), report(30_000, 110), report(2_000)])).toEqual([
      'live heap per added tool, 1,000 → 10,000 tools: 3.07 KB (target ≤ 5)',
      'live heap per added tool, 10,000 → 30,000 tools: 3.07 KB (target ≤ 5)',
    ]);
    expect(liveHeapGrowth([report(1_000, 23)])).toEqual([]);
  });

  it('sets the peak RSS target at 150 MB up to 10,000 tools, then 1 GiB per 100,000', () => {
    expect([peakRssTargetMB(1_000), peakRssTargetMB(10_000), peakRssTargetMB(30_000), peakRssTargetMB(100_000)]).toEqual([150, 150, 307, 1024]);
  });
});
