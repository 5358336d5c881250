/** Prometheus text metrics: request counts by model/status and a latency histogram. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Series {
  labels: string; // route="...",model="..."
  counts: number[];
  sum: number;
  count: number;
  statuses: Map<number, number>;
}

export class Metrics {
  // route -> model -> series: no label strings are built per request
  private series = new Map<string, Map<string, Series>>();
  private modelLoads = new Map<string, number>();

  observe(route: string, model: string, status: number, seconds: number): void {
    let byModel = this.series.get(route);
    if (!byModel) this.series.set(route, (byModel = new Map()));
    let h = byModel.get(model);
    if (!h) byModel.set(model, (h = { labels: `route="${route}",model="${model}"`, counts: new Array(BUCKETS.length).fill(0), sum: 0, count: 0, statuses: new Map() }));
    h.statuses.set(status, (h.statuses.get(status) ?? 0) + 1);
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  modelLoad(result: 'ok' | 'error'): void {
    this.modelLoads.set(result, (this.modelLoads.get(result) ?? 0) + 1);
  }

  render(modelsLoaded: number): string {
    const out: string[] = [];
    out.push('# HELP rxscale_requests_total Scoring server requests by route, model and HTTP status.');
    out.push('# TYPE rxscale_requests_total counter');
    const all = [...this.series.values()].flatMap((m) => [...m.values()]);
    for (const h of all) for (const [st, v] of h.statuses) out.push(`rxscale_requests_total{${h.labels},status="${st}"} ${v}`);
    out.push('# HELP rxscale_request_duration_seconds Request latency.');
    out.push('# TYPE rxscale_request_duration_seconds histogram');
    for (const h of all) {
      const k = h.labels;
      for (let i = 0; i < BUCKETS.length; i++) out.push(`rxscale_request_duration_seconds_bucket{${k},le="${BUCKETS[i]}"} ${h.counts[i]}`);
      out.push(`rxscale_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
      out.push(`rxscale_request_duration_seconds_sum{${k}} ${h.sum}`);
      out.push(`rxscale_request_duration_seconds_count{${k}} ${h.count}`);
    }
    out.push('# HELP rxscale_model_loads_total Model file loads by result.');
    out.push('# TYPE rxscale_model_loads_total counter');
    for (const [k, v] of this.modelLoads) out.push(`rxscale_model_loads_total{result="${k}"} ${v}`);
    out.push('# HELP rxscale_models_loaded Models currently served.');
    out.push('# TYPE rxscale_models_loaded gauge');
    out.push(`rxscale_models_loaded ${modelsLoaded}`);
    return `${out.join('\n')}\n`;
  }
}
