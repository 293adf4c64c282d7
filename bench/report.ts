// Benchmark results: JSON (everything), a markdown table and an SVG bar chart.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ModeResult {
  mode: string;
  description: string;
  /** pps of each run; empty when the mode was not measured here */
  runs: number[];
  note?: string;
}

export interface BenchReport {
  date: string;
  host: string;
  kernel: string;
  cpus: number;
  seconds: number;
  flows: number;
  frameBytes: number;
  modes: ModeResult[];
  controlPlane: Record<string, number>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));

export function markdown(r: BenchReport): string {
  const ceiling = median(r.modes.find((m) => m.mode === 'ceiling')?.runs ?? []);
  const lines = [
    `Host ${r.host}, kernel ${r.kernel}, ${r.cpus} CPUs; ${r.frameBytes}-byte frames over ${r.flows} flows, ${r.seconds} s per run; pps counted at the real server.`,
    '',
    '| mode | median pps | min - max | runs | vs ceiling |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const m of r.modes) {
    if (m.runs.length === 0) {
      lines.push(`| ${m.mode} | not measured | | | ${m.note ?? ''} |`);
      continue;
    }
    const med = median(m.runs);
    lines.push(`| ${m.mode} | ${fmt(med)} | ${fmt(Math.min(...m.runs))} - ${fmt(Math.max(...m.runs))} | ${m.runs.length} | ${ceiling ? `${((med / ceiling) * 100).toFixed(0)} %` : ''} |`);
  }
  lines.push('', '| control plane | ms |', '|---|---:|');
  for (const [k, v] of Object.entries(r.controlPlane)) lines.push(`| ${k} | ${v.toFixed(1)} |`);
  return lines.join('\n');
}

export function svg(r: BenchReport): string {
  const measured = r.modes.filter((m) => m.runs.length > 0);
  const max = Math.max(1, ...measured.map((m) => Math.max(...m.runs)));
  const rowH = 34;
  const width = 720;
  const left = 190;
  const barW = width - left - 110;
  const h = 40 + measured.length * rowH;
  const rows = measured.map((m, i) => {
    const y = 30 + i * rowH;
    const med = median(m.runs);
    const w = (med / max) * barW;
    const lo = left + (Math.min(...m.runs) / max) * barW;
    const hi = left + (Math.max(...m.runs) / max) * barW;
    return [
      `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${m.mode}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="20" fill="#4a7ebb"/>`,
      `<line x1="${lo.toFixed(1)}" x2="${hi.toFixed(1)}" y1="${y + 14}" y2="${y + 14}" stroke="#222" stroke-width="2"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 18}">${fmt(med)} pps</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif" font-size="13">`,
    `<text x="10" y="18" font-weight="bold">Forwarded packets per second (median, min-max), ${r.host} ${r.date}</text>`,
    ...rows,
    '</svg>',
  ].join('\n');
}

export function writeReport(r: BenchReport, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${r.date}-${r.host}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  fs.writeFileSync(`${base}.md`, `${markdown(r)}\n`);
  fs.writeFileSync(`${base}.svg`, `${svg(r)}\n`);
  return [`${base}.json`, `${base}.md`, `${base}.svg`];
}
