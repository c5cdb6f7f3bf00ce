// Monitors of exploration and exploitation (paper §2.2, §3.1): pure functions, one per metric.
export { passAtK, passAtKS } from './passAtK.js';
export { bestOfK, rewardAtKS } from './reward.js';
export { distinctEquations, type TextVerdict } from './diversity.js';
export { queryEffect, resolveNStar } from './queryEffect.js';
export { meanOf, quantile, bootstrapCI, bootstrapCIGrouped, type BootstrapOptions, type Interval } from './aggregate.js';
export { queryMonitors, summarizeMonitors, MONITORS, type Monitor, type EvalQuery, type QueryMonitors, type MonitorSummary } from './summary.js';
export { MetricError } from './errors.js';
