// Brute-force references for the metric tests: enumerate every K-subset (and every tie order).

export function subsets(n: number, k: number): number[][] {
  const out: number[][] = [];
  const cur: number[] = [];
  const rec = (start: number) => {
    if (cur.length === k) return void out.push([...cur]);
    for (let i = start; i < n; i++) {
      cur.push(i);
      rec(i + 1);
      cur.pop();
    }
  };
  rec(0);
  return out;
}

export function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  return out;
}

/** Exact C(a, b) as a BigInt. */
export function chooseBig(a: number, b: number): bigint {
  if (b < 0 || b > a) return 0n;
  let r = 1n;
  for (let i = 0; i < b; i++) r = (r * BigInt(a - i)) / BigInt(i + 1);
  return r;
}

/** Exact ratio of BigInts as a double (scaled division keeps ~18 digits). */
export function ratio(num: bigint, den: bigint): number {
  const scale = 10n ** 18n;
  return Number((num * scale) / den) / 1e18;
}
