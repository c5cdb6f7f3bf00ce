// `prompt.chat`: task prompts through the model's chat template. With a tokenizer that has one (a
// user's checkpoint with tokenizer_config.json chat_template) the formatted task prompt becomes one user
// turn rendered with the generation prompt, as transformers' apply_chat_template(messages,
// add_generation_prompt=True) gives it; everything downstream (sampling, selection, training, eval,
// the PRM) sees that one prompt. The ids equal apply_chat_template(…, tokenize=True): when the
// template writes the BOS token as text and the tokenizer adds BOS itself on encode, the text one is
// dropped so that BOS appears once.
import { hasChatTemplate } from '../tokenizer/hf.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { Query, Task } from '../tasks/types.js';

export type ChatMode = 'auto' | 'on' | 'off';

/** A chat-template problem with the config: names the key and the tokenizer. */
export class ChatPromptError extends Error {
  override readonly name = 'ChatPromptError';
}

/** `task` with formatPrompt rendered through `tok`'s chat template (auto: when it has one; on: required; off: never). */
export function withChatTemplate(task: Task, tok: Tokenizer, mode: ChatMode, tokenizerSource: string): Task {
  if (mode === 'off') return task;
  if (!hasChatTemplate(tok)) {
    if (mode === 'on') throw new ChatPromptError(`prompt.chat: "on" needs a chat template, but ${tokenizerSource} has none (tokenizer_config.json chat_template); set prompt.chat to auto or off`);
    return task;
  }
  const bos = tok.bosId >= 0 ? tok.decode([tok.bosId]) : null;
  const encodeAddsBos = tok.bosId >= 0 && tok.encode('', { addBos: true })[0] === tok.bosId;
  const chat: Task = Object.create(task);
  chat.formatPrompt = (q: Query): string => {
    const text = tok.applyChatTemplate([{ role: 'user', content: task.formatPrompt(q) }], { addGenerationPrompt: true });
    return encodeAddsBos && bos !== null && text.startsWith(bos) ? text.slice(bos.length) : text;
  };
  return chat;
}
