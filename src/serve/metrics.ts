// bstar serve's /metrics: counters, gauges and histograms in the Prometheus text exposition format
// (version 0.0.4): per metric `# HELP` and `# TYPE` lines, then its samples `name{label="value"} number`;
// a histogram as cumulative `_bucket{le="…"}` samples ending at le="+Inf", then `_sum` and `_count`.
// Label values are escaped (backslash, double quote, newline) as the format requires.

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const labelText = (l: Labels) => {
  const ks = Object.keys(l);
  return ks.length ? `{${ks.map((k) => `${k}="${escapeLabel(l[k])}"`).join(',')}}` : '';
};
/** A sample value as Prometheus writes it (+Inf, -Inf, NaN spelled out). */
const num = (x: number) => (Number.isNaN(x) ? 'NaN' : x === Infinity ? '+Inf' : x === -Infinity ? '-Inf' : String(x));

interface Metric {
  render(): string[];
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelText(labels);
    const e = this.values.get(k) ?? { labels, value: 0 };
    e.value += by;
    this.values.set(k, e);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(): string[] {
    const rows = this.values.size ? [...this.values.values()] : [{ labels: {}, value: 0 }];
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`, ...rows.map((r) => `${this.name}${labelText(r.labels)} ${num(r.value)}`)];
  }
}

export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}
  render(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`, `${this.name} ${num(this.read())}`];
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  /** `buckets`: ascending upper bounds (the +Inf bucket is added). */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    for (let i = 1; i < buckets.length; i++) if (!(buckets[i] > buckets[i - 1])) throw new Error(`histogram ${name}: bucket bounds must ascend`);
    this.counts = new Array<number>(buckets.length).fill(0);
  }
  observe(x: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (x <= this.buckets[i]) this.counts[i]++;
    this.sum += x;
    this.count++;
  }
  get observations(): number {
    return this.count;
  }
  render(): string[] {
    return [
      `# HELP ${this.name} ${escapeHelp(this.help)}`,
      `# TYPE ${this.name} histogram`,
      ...this.buckets.map((b, i) => `${this.name}_bucket{le="${num(b)}"} ${this.counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${num(this.sum)}`,
      `${this.name}_count ${this.count}`,
    ];
  }
}

/** Seconds buckets from 5 ms to 2 min (latencies of a CPU server). */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class Registry {
  private readonly metrics: Metric[] = [];
  add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  /** The exposition text (ends with a newline). */
  render(): string {
    return this.metrics.flatMap((m) => m.render()).join('\n') + '\n';
  }
}
