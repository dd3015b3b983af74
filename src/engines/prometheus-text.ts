// A small parser for the Prometheus text exposition format: just enough to read gauges, counters
// and info metrics (labels) from an engine's /metrics. Histogram and summary series are returned
// like any other sample; callers pick the names they know.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses every sample line; comment lines and malformed lines are skipped (engines vary). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseLine(line: string): Sample | undefined {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  let name: string;
  let labels: Record<string, string> = {};
  let rest: string;
  if (brace !== -1 && (space === -1 || brace < space)) {
    name = line.slice(0, brace);
    const parsed = parseLabels(line, brace + 1);
    if (!parsed) return undefined;
    labels = parsed.labels;
    rest = line.slice(parsed.end + 1);
  } else {
    if (space === -1) return undefined;
    name = line.slice(0, space);
    rest = line.slice(space);
  }
  const valueText = rest.trim().split(/\s+/)[0];
  if (valueText === undefined || valueText === '') return undefined;
  const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
  if (Number.isNaN(value) && valueText !== 'NaN') return undefined;
  return { name, labels, value };
}

/** Reads `key="value",...}` starting at `start`; returns the index of the closing brace. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = start;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i };
    const eq = line.indexOf('=', i);
    if (eq === -1 || line[eq + 1] !== '"') return undefined;
    const key = line.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\' && j + 1 < line.length) {
        const next = line[++j];
        value += next === 'n' ? '\n' : next;
      } else {
        value += line[j];
      }
    }
    if (j >= line.length) return undefined;
    labels[key] = value;
    i = j + 1;
  }
  return undefined;
}
