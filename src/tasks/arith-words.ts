// The words of the arith task, in one place: names, items, containers, and the sentence templates of
// the question and of each solution step. Every character here must be in ARITH_ALPHABET (a test
// checks the generated text). `{A}`, `{B}`, `{C}` are names, `{item}`/`{item2}` plural nouns,
// `{n}`/`{k}` numbers, `{f}` a factor word, `{box}` a container; `{}` in a solution template is
// where the `<<a+b=c>>c` equation goes.

export const NAMES = [
  'Ann', 'Ben', 'Cal', 'Dan', 'Eva', 'Fay', 'Gus', 'Hal', 'Ida', 'Jon', 'Kim', 'Leo',
  'Mia', 'Ned', 'Ola', 'Pam', 'Ray', 'Sue', 'Tom', 'Uma', 'Val', 'Wes', 'Zoe', 'Amy',
] as const;

export const ITEMS = [
  'apples', 'pears', 'plums', 'eggs', 'nuts', 'pens', 'books', 'cards', 'coins', 'stamps',
  'shells', 'beads', 'rocks', 'kites', 'balls', 'hats', 'cups', 'toys', 'dolls', 'cakes',
  'buns', 'limes', 'jars', 'bells', 'pins', 'caps', 'mugs', 'socks', 'keys', 'bows',
] as const;

/** Every item is a regular plural; the singular (for "1 apple") drops the final s. */
export const singular = (item: string): string => item.slice(0, -1);

export const CONTAINERS = ['bags', 'boxes', 'packs', 'cases', 'crates', 'tins'] as const;

// ---------------------------------------------------------------------------------------------
// Question sentences

export const START = ['{A} has {n} {item}.', '{A} owns {n} {item}.'] as const;

/** Relative starts: B's first amount from A's first amount. */
export const REL_MORE = ['{B} has {k} more {item} than {A}.'] as const;
export const REL_FEWER = ['{B} has {k} fewer {item} than {A}.'] as const;
export const REL_TIMES = ['{B} has {f} as many {item} as {A}.'] as const; // f: twice, three times
export const REL_PART = ['{B} has {f} as many {item} as {A}.'] as const; // f: half, a third

export const GAIN = ['{A} buys {n} more.', '{A} finds {n} more.', '{A} gets {n} more.', '{A} wins {n} more.', '{A} makes {n} more.'] as const;
export const LOSE = ['{A} loses {n}.', '{A} gives away {n}.', '{A} sells {n}.', '{A} gives {n} to a friend.', '{A} breaks {n}.'] as const;
export const TIMES = ['{A} now has {f} as many.'] as const; // f: twice, three times
export const PART = ['{A} keeps {f} of them.'] as const; // f: half, a third
export const PACK = ['{A} buys {k} {box} of {n}.', '{A} gets {k} {box} with {n} in each.'] as const;

export const ASK_FINAL = ['How many {item} does {A} have now?', 'How many {item} does {A} end up with?'] as const;
export const ASK_FINAL_NO_EVENTS = ['How many {item} does {A} have?'] as const;
export const ASK_TOTAL = ['How many {item} do {A} and {B} have together?', 'How many {item} do {A} and {B} have in all?'] as const;
export const ASK_DIFF = ['How many more {item} does {A} have than {B}?'] as const;

export const DISTRACTOR_SAME_ITEM = ['{C} has {n} {item}.'] as const; // {item} singular when n = 1
export const DISTRACTOR_OTHER = ['{A} is {n} years old.', '{A} also has {n} {item2}.', '{C} has {n} {item2}.'] as const;

// ---------------------------------------------------------------------------------------------
// Solution sentences (one equation per step)

export const SAY_HAS = '{A} has {}.';
export const SAY_PACK = '{A} gets {} more.';
export const SAY_TOTAL = 'Together they have {}.';
export const SAY_DIFF = '{A} has {} more.';

/** Factor words: ×f for f = 2..9 and ÷f for f = 2..9. */
export const TIMES_WORD: Record<number, string> = {
  2: 'twice', 3: 'three times', 4: 'four times', 5: 'five times',
  6: 'six times', 7: 'seven times', 8: 'eight times', 9: 'nine times',
};
export const PART_WORD: Record<number, string> = {
  2: 'half', 3: 'a third', 4: 'a quarter', 5: 'a fifth',
  6: 'a sixth', 7: 'a seventh', 8: 'an eighth', 9: 'a ninth',
};
