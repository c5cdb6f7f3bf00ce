// Seeded randomness. Every random choice in bstar flows from a run seed through this file:
// `deriveSeed(seed, 'sample', queryId, k)` gives an independent stream per purpose, so results do not
// depend on call order, batch size or thread count. The generator is xoshiro128** (32-bit
// arithmetic, fast in JS), seeded by splitmix32; its state can be saved and restored exactly.

/** splitmix32 step: a well-mixed 32-bit value from a 32-bit state. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A 32-bit seed for a purpose: mixes the parent seed with each key (strings hashed, numbers as is). */
export function deriveSeed(seed: number, ...keys: (string | number)[]): number {
  let h = splitmix32(seed >>> 0);
  for (const key of keys) {
    if (typeof key === 'number') {
      if (!Number.isInteger(key)) throw new TypeError(`deriveSeed: numeric key ${key} must be an integer`);
      h = splitmix32(h ^ splitmix32(key >>> 0) ^ splitmix32(Math.floor(key / 2 ** 32) >>> 0));
    } else {
      // FNV-1a over UTF-16 code units, then mixed.
      let f = 0x811c9dc5;
      for (let i = 0; i < key.length; i++) f = Math.imul(f ^ key.charCodeAt(i), 0x01000193);
      h = splitmix32(h ^ (f >>> 0) ^ 0x5bd1e995);
    }
  }
  return h >>> 0;
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let x = seed >>> 0;
    x = splitmix32(x);
    this.s0 = x;
    x = splitmix32(x);
    this.s1 = x;
    x = splitmix32(x);
    this.s2 = x;
    x = splitmix32(x);
    this.s3 = x;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform uint32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new RangeError(`Rng.int: n=${n} must be an integer in [1, 2^32]`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box–Muller, spare kept in the state). */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Exact state, JSON-safe, for checkpoints. */
  getState(): { s: [number, number, number, number]; spareNormal: number | null } {
    return { s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spareNormal: this.spareNormal };
  }

  setState(st: { s: [number, number, number, number]; spareNormal: number | null }): void {
    if (!Array.isArray(st.s) || st.s.length !== 4 || st.s.some((x) => !Number.isInteger(x) || x < 0 || x >= 2 ** 32)) {
      throw new TypeError('Rng.setState: s must be four uint32 values');
    }
    [this.s0, this.s1, this.s2, this.s3] = st.s.map((x) => x | 0) as [number, number, number, number];
    this.spareNormal = st.spareNormal;
  }

  static fromState(st: { s: [number, number, number, number]; spareNormal: number | null }): Rng {
    const r = new Rng(0);
    r.setState(st);
    return r;
  }
}
