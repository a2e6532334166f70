// A small SVG line chart for the soak run's curves (no dependency): panels
// stacked over one time axis, each with its own y axis, ticks at 1-2-5
// steps, grid lines, a legend, and optional shading and a fitted line.

export interface Series {
  name: string;
  color: string;
  /** [x, y] points, in x order. */
  points: ReadonlyArray<readonly [number, number]>;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
  /** Shades this x range, with a label (the window a rule looks at). */
  shade?: { from: number; to: number; label: string };
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  panels: Panel[];
  width?: number;
  panelHeight?: number;
}

const MARGIN = { left: 78, right: 24, top: 84, gap: 72, bottom: 52 };

/** Tick values covering [min, max] at a 1, 2 or 5 × 10^k step, about `count` of them. */
export function ticks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  if (out[0]! > min) out.unshift(out[0]! - step);
  if (out[out.length - 1]! < max) out.push(out[out.length - 1]! + step);
  return out;
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (Math.abs(v) >= 1000 ? v.toLocaleString('en-US') : String(v));

/** The chart as an SVG document. */
export function lineChart(options: ChartOptions): string {
  const width = options.width ?? 960;
  const panelHeight = options.panelHeight ?? 260;
  const { panels } = options;
  const height =
    MARGIN.top + panels.length * panelHeight + (panels.length - 1) * MARGIN.gap + MARGIN.bottom;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xTicks = ticks(Math.min(0, ...xs), Math.max(...xs, 1), 10);
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * plotWidth;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${escape(options.title)}</text>`,
  ];
  if (options.subtitle) {
    out.push(`<text x="${MARGIN.left}" y="44" fill="#555555">${escape(options.subtitle)}</text>`);
  }
  panels.forEach((panel, index) => {
    const top = MARGIN.top + index * (panelHeight + MARGIN.gap);
    const bottom = top + panelHeight;
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y));
    const yTicks = ticks(Math.min(0, ...ys), Math.max(...ys, 1), 5);
    const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
    const sy = (y: number) => bottom - ((y - y0) / (y1 - y0)) * panelHeight;
    out.push(
      `<text x="${MARGIN.left}" y="${top - 10}" font-weight="bold">${escape(panel.title)}</text>`,
    );
    if (panel.shade) {
      const { from, to, label } = panel.shade;
      out.push(
        `<rect x="${sx(from)}" y="${top}" width="${Math.max(0, sx(to) - sx(from))}" height="${panelHeight}" fill="#f2f2f2"/>`,
        `<text x="${sx(from) + 4}" y="${top + 14}" fill="#777777">${escape(label)}</text>`,
      );
    }
    for (const y of yTicks) {
      out.push(
        `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e3e3e3"/>`,
        `<text x="${MARGIN.left - 8}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`,
      );
    }
    for (const x of xTicks) {
      out.push(
        `<line x1="${sx(x)}" x2="${sx(x)}" y1="${bottom}" y2="${bottom + 5}" stroke="#333333"/>`,
        `<text x="${sx(x)}" y="${bottom + 18}" text-anchor="middle">${fmt(x)}</text>`,
      );
    }
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${top}" y2="${bottom}" stroke="#333333"/>`,
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${bottom}" y2="${bottom}" stroke="#333333"/>`,
      `<text transform="translate(${MARGIN.left - 56} ${top + panelHeight / 2}) rotate(-90)" text-anchor="middle">${escape(panel.yLabel)}</text>`,
      `<text x="${MARGIN.left + plotWidth / 2}" y="${bottom + 36}" text-anchor="middle">${escape(options.xLabel)}</text>`,
    );
    for (const series of panel.series) {
      if (series.points.length === 0) continue;
      const path = series.points
        .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join(' ');
      out.push(
        `<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    }
    // The legend runs along the top of the panel, after its title, clear of the curves.
    let x = MARGIN.left + panel.title.length * 7.5 + 24;
    for (const series of panel.series) {
      const y = top - 10;
      out.push(
        `<line x1="${x}" x2="${x + 22}" y1="${y - 4}" y2="${y - 4}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
        `<text x="${x + 28}" y="${y}">${escape(series.name)}</text>`,
      );
      x += 28 + series.name.length * 6.6 + 18;
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
