// Benchmark results: JSON (everything), a markdown table per testbed and an
// SVG bar chart with one panel per testbed. Ratios are only ever taken
// between modes of the same testbed, measured in the same run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CostResult } from './cost';

export interface ModeResult {
  mode: string;
  description: string;
  /** pps of each run; empty when the mode was not measured here */
  runs: number[];
  /** per run: CPU-seconds per second spent in softirq on the director's machine */
  softirqCores?: number[];
  note?: string;
}

/** One testbed's results. */
export interface BenchReport {
  /** host, vm or hosts */
  label: string;
  where: string;
  host: string;
  kernel: string;
  cpus: number;
  /** the director's CPU, from /proc/cpuinfo */
  cpuModel: string;
  seconds: number;
  flows: number;
  frameBytes: number;
  /** pps at the real with nothing on the director (the testbed's own check: about 0) */
  leakPps: number;
  modes: ModeResult[];
  controlPlane: Record<string, number>;
  /** ns per packet of the director's paths, BPF_PROG_TEST_RUN (bench/cost.ts); absent where the director is another machine */
  costs?: CostResult[];
}

export interface BenchSuite {
  date: string;
  host: string;
  command: string;
  environments: BenchReport[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));

/** The IPVS mode an xdpvs mode is compared with. */
export function ipvsCounterpart(mode: string): string | undefined {
  return mode.startsWith('xdpvs-') ? `ipvs-${mode.slice(6)}` : undefined;
}

/** Median pps per mode and the ratios the tables show, for one testbed. */
export interface Ratios {
  median: number;
  /** median pps over the ceiling's */
  vsCeiling?: number;
  /** median pps over the IPVS mode's of the same method */
  vsIpvs?: number;
  /** median pps per softirq core (median of the runs' softirq cores) */
  perCore?: number;
  /** perCore over the IPVS mode's */
  perCoreVsIpvs?: number;
}

export function ratios(r: BenchReport): Map<string, Ratios> {
  const base = new Map<string, { median: number; perCore?: number }>();
  for (const m of r.modes) {
    if (m.runs.length === 0) continue;
    const v = median(m.runs);
    const cores = m.softirqCores?.length ? median(m.softirqCores) : 0;
    base.set(m.mode, { median: v, perCore: cores > 0.01 ? v / cores : undefined });
  }
  const ceiling = base.get('ceiling')?.median;
  const out = new Map<string, Ratios>();
  for (const [mode, b] of base) {
    const ipvs = base.get(ipvsCounterpart(mode) ?? '');
    out.set(mode, {
      ...b,
      vsCeiling: ceiling ? b.median / ceiling : undefined,
      vsIpvs: ipvs ? b.median / ipvs.median : undefined,
      perCoreVsIpvs: ipvs?.perCore && b.perCore ? b.perCore / ipvs.perCore : undefined,
    });
  }
  return out;
}

export function markdownOne(r: BenchReport): string {
  const rs = ratios(r);
  const lines = [
    `**${r.label}**: ${r.where}; host ${r.host}, kernel ${r.kernel}, ${r.cpus} CPUs (${r.cpuModel}); ${r.frameBytes}-byte frames, ${r.flows} UDP flows, ${r.seconds} s per run; pps counted at the real server (${r.leakPps.toFixed(0)} pps with nothing on the director).`,
    '',
    '| mode | median pps | min - max | runs | softirq cores | pps per softirq core | vs ceiling | xdpvs / IPVS: pps | per core |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const m of r.modes) {
    const x = rs.get(m.mode);
    if (!x) {
      lines.push(`| ${m.mode} | not measured | | | | | | | ${m.note ?? ''} |`);
      continue;
    }
    const cores = m.softirqCores?.length ? median(m.softirqCores).toFixed(2) : '';
    lines.push(
      `| ${m.mode} | ${fmt(x.median)} | ${fmt(Math.min(...m.runs))} - ${fmt(Math.max(...m.runs))} | ${m.runs.length} | ${cores} | ${x.perCore ? fmt(x.perCore) : ''} | ${
        x.vsCeiling ? `${(x.vsCeiling * 100).toFixed(0)} %` : ''
      } | ${x.vsIpvs ? `${x.vsIpvs.toFixed(2)} x` : ''} | ${x.perCoreVsIpvs ? `${x.perCoreVsIpvs.toFixed(2)} x` : ''} |`,
    );
  }
  if (r.costs?.length) {
    lines.push(
      '',
      `Per-packet cost of the director, BPF_PROG_TEST_RUN on one CPU, harness subtracted, median of ${r.costs[0]!.ns.length} interleaved round(s):`,
      '',
      '| path | ns per packet | min - max | harness ns | goal |',
      '|---|---:|---:|---:|---|',
    );
    for (const c of r.costs) {
      const ns = median(c.ns);
      const goal = c.goalNs === undefined ? '' : `<= ${c.goalNs}: ${ns <= c.goalNs ? 'met' : 'not met'}`;
      lines.push(`| ${c.case}: ${c.description} | ${ns.toFixed(1)} | ${Math.min(...c.ns).toFixed(1)} - ${Math.max(...c.ns).toFixed(1)} | ${median(c.harnessNs).toFixed(1)} | ${goal} |`);
    }
  }
  if (Object.keys(r.controlPlane).length > 0) {
    lines.push('', '| control plane | ms |', '|---|---:|');
    for (const [k, v] of Object.entries(r.controlPlane)) lines.push(`| ${k} | ${v.toFixed(1)} |`);
  }
  return lines.join('\n');
}

export function markdown(s: BenchSuite): string {
  return [`\`${s.command}\` on ${s.host}, ${s.date}.`, ...s.environments.map(markdownOne)].join('\n\n');
}

export function svg(s: BenchSuite): string {
  const rowH = 30;
  const width = 760;
  const left = 190;
  const barW = width - left - 150;
  const parts: string[] = [];
  let y = 30;
  for (const r of s.environments) {
    const measured = r.modes.filter((m) => m.runs.length > 0);
    // each panel has its own scale: absolute rates differ between testbeds
    const max = Math.max(1, ...measured.map((m) => Math.max(...m.runs)));
    parts.push(`<text x="10" y="${y + 14}" font-weight="bold">${r.label}: kernel ${r.kernel}, ${r.cpus} CPUs (own scale)</text>`);
    y += 22;
    for (const m of measured) {
      const med = median(m.runs);
      const w = (med / max) * barW;
      const lo = left + (Math.min(...m.runs) / max) * barW;
      const hi = left + (Math.max(...m.runs) / max) * barW;
      const fill = m.mode.startsWith('ipvs') ? '#c0504d' : m.mode === 'ceiling' ? '#9bbb59' : '#4a7ebb';
      parts.push(
        `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${m.mode}</text>` +
          `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="20" fill="${fill}"/>` +
          `<line x1="${lo.toFixed(1)}" x2="${hi.toFixed(1)}" y1="${y + 14}" y2="${y + 14}" stroke="#222" stroke-width="2"/>` +
          `<text x="${(left + w + 6).toFixed(1)}" y="${y + 18}">${fmt(med)} pps</text>`,
      );
      y += rowH;
    }
    y += 12;
    if (r.costs?.length) {
      const maxNs = Math.max(1, ...r.costs.map((c) => Math.max(...c.ns)));
      parts.push(`<text x="10" y="${y + 14}" font-weight="bold">${r.label}: ns per packet, BPF_PROG_TEST_RUN (median, min-max; own scale)</text>`);
      y += 22;
      for (const c of r.costs) {
        const med = median(c.ns);
        const w = (Math.max(0, med) / maxNs) * barW;
        const lo = left + (Math.max(0, Math.min(...c.ns)) / maxNs) * barW;
        const hi = left + (Math.max(0, Math.max(...c.ns)) / maxNs) * barW;
        const fill = c.case === 'ceiling' ? '#9bbb59' : '#4a7ebb';
        parts.push(
          `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${c.case}</text>` +
            `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="20" fill="${fill}"/>` +
            `<line x1="${lo.toFixed(1)}" x2="${hi.toFixed(1)}" y1="${y + 14}" y2="${y + 14}" stroke="#222" stroke-width="2"/>` +
            `<text x="${(left + w + 6).toFixed(1)}" y="${y + 18}">${med.toFixed(1)} ns${c.goalNs === undefined ? '' : ` (goal ${c.goalNs})`}</text>`,
        );
        y += rowH;
      }
      y += 12;
    }
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif" font-size="13">`,
    `<text x="10" y="18" font-weight="bold">Forwarded packets per second (median, min-max), ${s.host} ${s.date}</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}

export function writeSuite(s: BenchSuite, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${s.date}-${s.host}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(s, null, 2)}\n`);
  fs.writeFileSync(`${base}.md`, `${markdown(s)}\n`);
  fs.writeFileSync(`${base}.svg`, `${svg(s)}\n`);
  return [`${base}.json`, `${base}.md`, `${base}.svg`];
}
