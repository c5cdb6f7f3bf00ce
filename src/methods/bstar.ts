// B-STaR: Online RFT plus, before each iteration, the (T, τ) search on the fixed dev subset
// (searchIteration in iteration.ts, over search.ts): each T of the grid sampled once, each τ scored
// from those samples, argmax average query effect.
import type { Method } from './method.js';
import { onlineRft } from './onlineRft.js';

export const bstar: Method = { ...onlineRft, name: 'bstar', searches: true };
