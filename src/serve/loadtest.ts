// A bounded loopback load test for an OpenAI-compatible server: `clients` concurrent clients each send
// /v1/completions requests back to back for `durationMs`, then stop (requests in flight finish, each
// bounded by `requestTimeoutMs`). Every request is accounted for: ok, HTTP error (by status), or
// transport error/timeout — none can be lost or hang the test. Streaming requests also give time to
// first token (the first chunk with text) and inter-token latency (the gaps between a choice's
// successive text chunks; chunks that arrive in one read share its time), as vLLM's benchmark_serving
// measures them.

export interface LoadTestOptions {
  baseUrl: string;
  clients: number;
  durationMs: number;
  body: (client: number, i: number) => Record<string, unknown>;
  requestTimeoutMs?: number;
  apiKey?: string;
}

export interface LoadTestResult {
  clients: number;
  seconds: number;
  requests: number;
  ok: number;
  httpErrors: Record<string, number>;
  transportErrors: number;
  completionTokens: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Streaming requests (body.stream): time to the first SSE chunk. */
  firstChunkMs?: { p50: number; p99: number };
  /** Streaming requests: time to the first chunk carrying text (TTFT). */
  ttftMs?: { p50: number; p99: number };
  /** Streaming requests: gaps between successive text chunks of a choice (ITL), over all of them. */
  itlMs?: { p50: number; p99: number; count: number };
  /** Streaming requests: per request, (last chunk − first text chunk) / (completion tokens − 1) (TPOT). */
  tpotMs?: { p50: number; p99: number };
}

export async function runLoadTest(o: LoadTestOptions): Promise<LoadTestResult> {
  const latencies: number[] = [];
  const firsts: number[] = [];
  const ttfts: number[] = [];
  const itls: number[] = [];
  const tpots: number[] = [];
  const httpErrors: Record<string, number> = {};
  let ok = 0;
  let transportErrors = 0;
  let tokens = 0;
  let requests = 0;
  const t0 = performance.now();
  const end = t0 + o.durationMs;
  const client = async (c: number) => {
    for (let i = 0; performance.now() < end; i++) {
      requests++;
      const s = performance.now();
      try {
        const r = await fetch(`${o.baseUrl}/completions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(o.apiKey ? { Authorization: `Bearer ${o.apiKey}` } : {}) },
          body: JSON.stringify(o.body(c, i)),
          signal: AbortSignal.timeout(o.requestTimeoutMs ?? 60_000),
        });
        if (r.ok && r.headers.get('content-type') === 'text/event-stream') {
          // SSE: the first chunk's arrival, the usage chunk, and [DONE] at the end (else: incomplete)
          const reader = r.body!.getReader();
          const dec = new TextDecoder();
          let text = '';
          let parsed = 0; // characters of `text` split into events so far
          const lastChunk = new Map<number, number>(); // choice index → time of its last text chunk
          let sawText = false;
          let firstText = 0;
          let lastText = 0;
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const now = performance.now();
            if (text === '') firsts.push(now - s);
            text += dec.decode(value, { stream: true });
            const end = text.lastIndexOf('\n\n');
            if (end < parsed) continue;
            for (const ev of text.slice(parsed, end).split('\n\n')) {
              if (!ev.startsWith('data: {')) continue;
              const c = (JSON.parse(ev.slice(6)) as { choices?: { index?: number; text?: string; delta?: { content?: string } }[] }).choices?.[0];
              const piece = c?.text ?? c?.delta?.content ?? '';
              if (!c || piece === '') continue;
              if (!sawText) {
                ttfts.push(now - s);
                firstText = now;
              }
              sawText = true;
              lastText = now;
              const prev = lastChunk.get(c.index ?? 0);
              if (prev !== undefined) itls.push(now - prev);
              lastChunk.set(c.index ?? 0, now);
            }
            parsed = end + 2;
          }
          const events = text.split('\n\n').filter(Boolean);
          if (events[events.length - 1] !== 'data: [DONE]') {
            httpErrors.incomplete_stream = (httpErrors.incomplete_stream ?? 0) + 1;
            continue;
          }
          const usage = JSON.parse(events[events.length - 2].slice(6)) as { usage?: { completion_tokens: number } };
          ok++;
          const n = usage.usage?.completion_tokens ?? 0;
          tokens += n;
          if (n > 1 && sawText) tpots.push((lastText - firstText) / (n - 1));
          latencies.push(performance.now() - s);
          continue;
        }
        const j = (await r.json()) as { usage?: { completion_tokens: number } };
        if (r.ok) {
          ok++;
          tokens += j.usage?.completion_tokens ?? 0;
          latencies.push(performance.now() - s);
        } else httpErrors[r.status] = (httpErrors[r.status] ?? 0) + 1;
      } catch {
        transportErrors++;
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  firsts.sort((a, b) => a - b);
  ttfts.sort((a, b) => a - b);
  itls.sort((a, b) => a - b);
  tpots.sort((a, b) => a - b);
  const at = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : NaN);
  const q = (p: number) => at(latencies, p);
  return {
    clients: o.clients, seconds, requests, ok, httpErrors, transportErrors, completionTokens: tokens,
    requestsPerSecond: ok / seconds, tokensPerSecond: tokens / seconds,
    latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: latencies[latencies.length - 1] ?? NaN },
    ...(firsts.length ? { firstChunkMs: { p50: at(firsts, 0.5), p99: at(firsts, 0.99) } } : {}),
    ...(ttfts.length ? { ttftMs: { p50: at(ttfts, 0.5), p99: at(ttfts, 0.99) } } : {}),
    ...(itls.length ? { itlMs: { p50: at(itls, 0.5), p99: at(itls, 0.99), count: itls.length } } : {}),
    ...(tpots.length ? { tpotMs: { p50: at(tpots, 0.5), p99: at(tpots, 0.99) } } : {}),
  };
}
