/**
 * A unified diff (`diff -u` style) of two texts, line by line, with `context` unchanged
 * lines around each change. Returns '' when the texts are equal. Quadratic in the
 * number of lines, which is fine for schema files of a few thousand lines.
 */
export function unifiedDiff(before: string, after: string, labels: { before: string; after: string }, context = 3): string {
  if (before === after) return '';
  const a = lines(before);
  const b = lines(after);
  const ops = diffLines(a, b);

  const hunks: string[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.kind === ' ') {
      i++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the
    // last change that is closer than 2 * context lines to the previous one.
    const start = Math.max(0, i - context);
    let end = i;
    let quiet = 0;
    for (let j = i; j < ops.length; j++) {
      if (ops[j]!.kind === ' ') {
        quiet++;
        if (quiet > 2 * context) break;
      } else {
        quiet = 0;
        end = j;
      }
    }
    const stop = Math.min(ops.length, end + context + 1);
    const slice = ops.slice(start, stop);
    const first = slice[0]!;
    const countA = slice.filter((o) => o.kind !== '+').length;
    const countB = slice.filter((o) => o.kind !== '-').length;
    hunks.push(
      `@@ -${first.a + (countA ? 1 : 0)},${countA} +${first.b + (countB ? 1 : 0)},${countB} @@\n` +
        slice.map((o) => `${o.kind}${o.text}`).join('\n'),
    );
    i = stop;
  }
  return `--- ${labels.before}\n+++ ${labels.after}\n${hunks.join('\n')}\n`;
}

function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all;
}

interface Op {
  kind: ' ' | '-' | '+';
  text: string;
  /** Lines of `a` and `b` before this one. */
  a: number;
  b: number;
}

function diffLines(a: string[], b: string[]): Op[] {
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', text: a[i]!, a: i, b: j });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // Removals before additions, as `diff -u` prints a changed line.
      ops.push({ kind: '-', text: a[i]!, a: i, b: j });
      i++;
    } else {
      ops.push({ kind: '+', text: b[j]!, a: i, b: j });
      j++;
    }
  }
  return ops;
}
