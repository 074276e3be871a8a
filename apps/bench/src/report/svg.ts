import type { Summary } from '../infra/stats.js';

/** One bar: a median with its min–max whisker. */
export interface ChartRow {
  readonly label: string;
  readonly value: Summary;
  /** Drawn in the accent colour (nest-tiered-cache's rows). */
  readonly ours: boolean;
}

/** A horizontal bar chart with whiskers and dashed reference lines (the bar to clear, 1×). */
export interface Chart {
  readonly title: string;
  readonly rows: readonly ChartRow[];
  readonly references: ReadonlyArray<{ value: number; label: string }>;
  readonly format: (value: number) => string;
}

const WIDTH = 900;
const LABEL_WIDTH = 450;
/** Longest label drawn (about what fits in LABEL_WIDTH at 12 px). */
const MAX_LABEL = 72;
const ROW = 30;
const TOP = 44;
const BOTTOM = 30;
const RIGHT = 70;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function shorten(label: string): string {
  if (label.length <= MAX_LABEL) return label;
  const cut = label.lastIndexOf(' ', MAX_LABEL - 1);
  return `${label.slice(0, cut > MAX_LABEL / 2 ? cut : MAX_LABEL - 1)}…`;
}

/** Renders a chart as a standalone SVG document (GitHub renders it as an image). */
export function renderChart(chart: Chart): string {
  const height = TOP + chart.rows.length * ROW + BOTTOM;
  const plot = WIDTH - LABEL_WIDTH - RIGHT;
  const top =
    Math.max(
      ...chart.rows.map((r) => (Number.isFinite(r.value.max) ? r.value.max : 0)),
      ...chart.references.map((r) => r.value),
      1e-9,
    ) * 1.08;
  const x = (value: number) => LABEL_WIDTH + Math.max(0, Math.min(1, value / top)) * plot;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="-apple-system,Segoe UI,Helvetica,Arial,sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="14" font-weight="600" fill="#1f2328">${escapeXml(chart.title)}</text>`,
  ];
  chart.rows.forEach((row, i) => {
    const y = TOP + i * ROW;
    const { median, min, max } = row.value;
    const colour = row.ours ? '#0969da' : '#8c959f';
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end" fill="#1f2328">${escapeXml(shorten(row.label))}</text>`,
    );
    if (!Number.isFinite(median)) return;
    parts.push(
      `<rect x="${LABEL_WIDTH}" y="${y + 4}" width="${(x(median) - LABEL_WIDTH).toFixed(1)}" height="${ROW - 10}" fill="${colour}" rx="2"/>`,
    );
    if (max > min) {
      parts.push(
        `<line x1="${x(min).toFixed(1)}" x2="${x(max).toFixed(1)}" y1="${y + 14}" y2="${y + 14}" stroke="#1f2328" stroke-width="1.2"/>`,
      );
      for (const end of [min, max])
        parts.push(
          `<line x1="${x(end).toFixed(1)}" x2="${x(end).toFixed(1)}" y1="${y + 9}" y2="${y + 19}" stroke="#1f2328" stroke-width="1.2"/>`,
        );
    }
    parts.push(
      `<text x="${(x(max) + 6).toFixed(1)}" y="${y + 18}" fill="#1f2328">${escapeXml(chart.format(median))}</text>`,
    );
  });
  const bottom = TOP + chart.rows.length * ROW;
  for (const ref of chart.references) {
    const rx = x(ref.value).toFixed(1);
    parts.push(
      `<line x1="${rx}" x2="${rx}" y1="${TOP - 6}" y2="${bottom + 4}" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="5,4"/>`,
    );
    parts.push(
      `<text x="${rx}" y="${bottom + 18}" text-anchor="middle" fill="#cf222e">${escapeXml(ref.label)}</text>`,
    );
  }
  parts.push(
    `<line x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH}" y1="${TOP - 6}" y2="${bottom}" stroke="#57606a"/>`,
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
