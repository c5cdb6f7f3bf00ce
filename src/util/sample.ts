// The sample record: one sampled (or injected gold) response, as it travels from the sampler through
// reward, selection, training and metrics. It lives in util/ so that reward/, metrics/ and methods/
// can all import it without importing upwards. Later stages add to it; nothing re-parses `text` for
// what an earlier stage already extracted.

export interface Sample {
  /**
   * The sample's id, unique within its file: `<random stream>/<query id>/<index>` (e.g.
   * `sample/2/q17/3`), `gold/<query id>` for an injected gold solution. Identical texts of one query
   * are told apart by it (the report marks the selected one). Absent in runs written before it.
   */
  id?: string;
  /** Task query id (stable across runs). */
  queryId: string;
  /** Self-improvement iteration that produced it (0 = before any self-training, e.g. the SFT model). */
  iteration: number;
  /** Sampling temperature used (0 = greedy). Injected gold solutions carry 0. */
  temperature: number;
  /** The completion text (without the prompt). */
  text: string;
  /** Number of completion tokens. */
  tokens: number;
  /** Sum of the sampled tokens' log-probabilities under the model at T = 1 (0 for gold). */
  logprob: number;
  /**
   * The prompt ids the sampler fed (BOS included), the completion ids exactly as sampled (eos included
   * when it ended the sample) and their per-token log-probabilities (model, T = 1). Training on the
   * sample uses exactly these ids. Absent for an injected gold solution (text only: the trainer encodes
   * it once) and for fleet samples whose server returned no ids without a tokenizer to encode them.
   */
  promptIds?: readonly number[];
  completionIds?: readonly number[];
  tokenLogprobs?: readonly number[];
  /** Answer extracted by the task, or null when none could be found. */
  answer: string | null;
  /** The task verifier's verdict (final answer / unit tests). */
  correct: boolean;
  /** Per-step PRM scores P(step is good) in [0, 1], when a PRM scored it (the reward maps their minimum). */
  prmSteps?: number[];
  /** The training reward: answerMatch (+ the PRM term when a PRM is used). */
  reward: number;
  /** True for a gold solution injected into the pool (official-code option `injectGold`). */
  gold?: boolean;
}

/** The part of a sample the metrics look at. */
export interface Scored {
  reward: number;
  correct: boolean;
}
