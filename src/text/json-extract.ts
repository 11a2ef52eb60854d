/**
 * Linear-time extraction of JSON from LLM output: fenced blocks, balanced `{...}` objects and,
 * for truncated or malformed JSON, the complete `"key": value` pairs. Every function here reads
 * its input a bounded number of times (no backtracking regular expressions, no rescanning per
 * brace), so a hostile or broken answer cannot block the event loop.
 *
 * @packageDocumentation
 * @internal
 */

/** True for the characters JavaScript's `\s` matches. @internal */
export function isSpace(code: number): boolean {
  if (code <= 32) return code === 32 || (code >= 9 && code <= 13);
  if (code < 160) return false;
  return (
    code === 160 ||
    code === 5760 ||
    (code >= 8192 && code <= 8202) ||
    code === 8232 ||
    code === 8233 ||
    code === 8239 ||
    code === 8287 ||
    code === 12288 ||
    code === 65279
  );
}

const isAsciiLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/**
 * The contents of Markdown code fences (```` ```json ... ``` ````), in order: after an opening
 * ```` ``` ````, a language tag and whitespace are skipped and the content runs to the next
 * ```` ``` ````. An unclosed fence ends the search; at most `max` blocks. @internal
 */
export function fencedBlocks(text: string, max: number): string[] {
  const out: string[] = [];
  for (let from = 0; out.length < max; ) {
    const open = text.indexOf('```', from);
    if (open < 0) return out;
    let j = open + 3;
    while (j < text.length && isAsciiLetter(text.charCodeAt(j))) j++;
    while (j < text.length && isSpace(text.charCodeAt(j))) j++;
    const close = text.indexOf('```', j);
    if (close < 0) return out;
    out.push(text.slice(j, close));
    from = close + 3;
  }
  return out;
}

/**
 * One left-to-right pass from `from`: sets `matchEnd[i]` to the index of the matching `}` of
 * every `{` at `i` outside strings that has one. Quotes count only inside braces (prose between
 * objects may hold stray `"`); a backslash inside a string escapes the next character. Returns
 * the first `{` left unclosed (-1 when none) and whether a string was met inside braces.
 */
function scanBraces(text: string, from: number, matchEnd: Int32Array, stack: Int32Array): { firstUnclosed: number; sawString: boolean } {
  matchEnd.fill(-1, from);
  let depth = 0;
  let inString = false;
  let sawString = false;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash
      else if (c === 34) inString = false;
    } else if (c === 123) {
      stack[depth++] = i;
    } else if (c === 125) {
      if (depth > 0) matchEnd[stack[--depth]!] = i;
    } else if (c === 34 && depth > 0) inString = sawString = true;
  }
  return { firstUnclosed: depth > 0 ? stack[0]! : -1, sawString };
}

/**
 * Balanced `{...}` regions, chosen left to right: the first `{` that has a matching `}` gives a
 * region, the search goes on after its end, and a `{` without a match is skipped. At most `max`
 * regions. When a pass finds none, leaves a `{` unclosed and met a string inside braces (a stray
 * `"` may have turned the rest into one string), the search restarts after that brace: at most 8
 * restarts, so the whole is linear in the text.
 * @internal
 */
export function balancedObjects(text: string, max: number): string[] {
  const out: string[] = [];
  if (max <= 0 || !text.includes('{')) return out;
  const matchEnd = new Int32Array(text.length);
  const stack = new Int32Array(text.length);
  for (let from = 0, restarts = 0; from < text.length && restarts <= 8; restarts++) {
    const { firstUnclosed, sawString } = scanBraces(text, from, matchEnd, stack);
    for (let i = from; i < text.length && out.length < max; i++) {
      const end = matchEnd[i]!;
      if (end < 0) continue;
      out.push(text.slice(i, end + 1));
      i = end;
    }
    if (out.length > 0 || firstUnclosed < 0 || !sawString) break;
    from = firstUnclosed + 1;
  }
  return out;
}

/**
 * The complete `"key": value` pairs anywhere in the text (key: 1–64 characters without `"` or
 * `\`; value: a JSON string, a flat array, a number, `true`, `false` or `null`), as
 * `[key, value source]`, left to right without overlaps: what survives of truncated or
 * malformed JSON. One right-to-left pass precomputes where each string and array would end, so
 * each candidate is checked in constant time. @internal
 */
export function salvagePairs(text: string): Array<[string, string]> {
  const n = text.length;
  // stringEnd[p]: index of the quote closing a string whose content starts at p (-1: none).
  const stringEnd = new Int32Array(n + 2).fill(-1);
  // bracketAt[p]: index of the first `[` or `]` at or after p (-1: none).
  const bracketAt = new Int32Array(n + 1).fill(-1);
  for (let p = n - 1; p >= 0; p--) {
    const c = text.charCodeAt(p);
    stringEnd[p] = c === 34 ? p : c === 92 ? stringEnd[p + 2]! : stringEnd[p + 1]!;
    bracketAt[p] = c === 91 || c === 93 ? p : bracketAt[p + 1]!;
  }
  const out: Array<[string, string]> = [];
  for (let i = text.indexOf('"'); i >= 0; ) {
    const pair = pairAt(text, i, stringEnd, bracketAt);
    if (pair === undefined) {
      i = text.indexOf('"', i + 1);
      continue;
    }
    const [keyEnd, valueStart, end] = pair;
    out.push([text.slice(i + 1, keyEnd), text.slice(valueStart, end)]);
    i = text.indexOf('"', end);
  }
  return out;
}

/** For the quote at `i`: where the key ends, the value starts and the pair ends (exclusive). */
function pairAt(text: string, i: number, stringEnd: Int32Array, bracketAt: Int32Array): [number, number, number] | undefined {
  const n = text.length;
  let j = i + 1;
  while (j < n && j - i - 1 < 64) {
    const c = text.charCodeAt(j);
    if (c === 34 || c === 92) break;
    j++;
  }
  if (j === i + 1 || j >= n || text.charCodeAt(j) !== 34) return undefined;
  let k = j + 1;
  while (k < n && isSpace(text.charCodeAt(k))) k++;
  if (text.charCodeAt(k) !== 58) return undefined; // ':'
  k++;
  while (k < n && isSpace(text.charCodeAt(k))) k++;
  if (k >= n) return undefined;
  const c = text.charCodeAt(k);
  if (c === 34) {
    const e = stringEnd[k + 1]!;
    return e < 0 ? undefined : [j, k, e + 1];
  }
  if (c === 91) {
    const e = bracketAt[k + 1]!;
    return e >= 0 && text.charCodeAt(e) === 93 ? [j, k, e + 1] : undefined;
  }
  for (const word of ['true', 'false', 'null']) if (text.startsWith(word, k)) return [j, k, k + word.length];
  let d = c === 45 ? k + 1 : k; // '-'
  const digits = (from: number): number => {
    let q = from;
    while (q < n && text.charCodeAt(q) >= 48 && text.charCodeAt(q) <= 57) q++;
    return q;
  };
  const intEnd = digits(d);
  if (intEnd === d) return undefined;
  d = intEnd;
  if (text.charCodeAt(d) === 46) {
    const fracEnd = digits(d + 1);
    if (fracEnd > d + 1) d = fracEnd;
  }
  return [j, k, d];
}
