// The methods by name.
import { bstar } from './bstar.js';
import { iterativeRft } from './iterativeRft.js';
import type { Method, MethodName } from './method.js';
import { onlineRft } from './onlineRft.js';
import { sft } from './sft.js';
import { star } from './star.js';

export const METHOD_IMPLS: Readonly<Record<MethodName, Method>> = { sft, star, 'iterative-rft': iterativeRft, 'online-rft': onlineRft, bstar };

export type { Method, MethodName, LoopState } from './method.js';
