// Reading a unified diff: the kind of each line and the files it touches, with their
// added and deleted line counts. Pure functions of the text; rendering is in app.js.

// A C-style quoted git path ("a/caf\303\251") -> [text, rest after the closing quote].
function readQuoted(s) {
  const esc = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };
  const bytes = [];
  const enc = new TextEncoder();
  let i = 1;
  while (i < s.length && s[i] !== '"') {
    if (s[i] === '\\' && i + 1 < s.length) {
      const c = s[i + 1];
      if (/^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
        bytes.push(parseInt(s.slice(i + 1, i + 4), 8) & 255);
        i += 4;
      } else {
        bytes.push(esc[c] ?? c.charCodeAt(0) & 255);
        i += 2;
      }
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i));
    bytes.push(...enc.encode(ch));
    i += ch.length;
  }
  return [new TextDecoder().decode(new Uint8Array(bytes)), s.slice(i + 1)];
}

const stripPrefix = (p) => (/^[ab]\//.test(p) ? p.slice(2) : p);

// The path of a "--- " or "+++ " line; null for /dev/null.
function headerPath(s) {
  const p = s.startsWith('"') ? readQuoted(s)[0] : s.split('\t')[0];
  return p === '/dev/null' ? null : stripPrefix(p);
}

// The new path of "diff --git a/X b/Y" (rest = "a/X b/Y").
function gitHeaderPath(rest) {
  if (rest.startsWith('"') || /^a\/.* "b\//.test(rest)) {
    const [first, after] = rest.startsWith('"') ? readQuoted(rest) : [null, rest.slice(rest.indexOf(' "b/'))];
    const second = after.trim();
    return stripPrefix(second.startsWith('"') ? readQuoted(second)[0] : second || first || '');
  }
  const n = (rest.length - 1) / 2;
  if (Number.isInteger(n) && rest[n] === ' ' && rest.startsWith('a/') && rest.slice(n + 1).startsWith('b/') &&
      rest.slice(2, n) === rest.slice(n + 3)) return rest.slice(2, n);
  const m = /^a\/(.*) b\/(.*)$/.exec(rest);
  return m ? m[2] : rest;
}

// One pass over a unified diff: a kind per line (add, del, ctx, hunk, meta) and the files
// with their added and deleted line counts. Hunk lengths decide what is inside a hunk, so a
// deleted line starting with "-- " is not taken for a header.
export function scanDiff(text) {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const kinds = new Array(lines.length);
  const files = [];
  let file = null;
  let pendingGit = false; // a "diff --git" file whose ---/+++ lines have not come yet
  let oldLeft = 0;
  let newLeft = 0;
  const start = (path) => {
    file = { path, add: 0, del: 0, binary: false };
    files.push(file);
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (oldLeft > 0 || newLeft > 0) {
      const c = l[0];
      if (c === '+') { kinds[i] = 'add'; newLeft--; file.add++; continue; }
      if (c === '-') { kinds[i] = 'del'; oldLeft--; file.del++; continue; }
      if (c === ' ' || l === '') { kinds[i] = 'ctx'; oldLeft--; newLeft--; continue; }
      if (c === '\\') { kinds[i] = 'meta'; continue; }
      oldLeft = newLeft = 0; // a short hunk: read the line as a header
    }
    const h = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(l);
    if (h) {
      kinds[i] = 'hunk';
      oldLeft = h[1] === undefined ? 1 : Number(h[1]);
      newLeft = h[2] === undefined ? 1 : Number(h[2]);
      if (!file) start('(unknown file)');
      pendingGit = false;
      continue;
    }
    kinds[i] = 'meta';
    const hl = l.replace(/\r$/, ''); // header lines of a diff with CRLF line ends
    if (hl.startsWith('diff --git ')) {
      start(gitHeaderPath(hl.slice(11)));
      pendingGit = true;
    } else if (hl.startsWith('--- ') && i + 1 < lines.length && lines[i + 1].startsWith('+++ ')) {
      const p = headerPath(lines[i + 1].slice(4).replace(/\r$/, '')) ?? headerPath(hl.slice(4)) ?? '(unknown file)';
      if (pendingGit) file.path = p;
      else start(p);
      pendingGit = false;
    } else if (pendingGit && hl.startsWith('rename to ')) {
      const p = hl.slice(10);
      file.path = p.startsWith('"') ? readQuoted(p)[0] : p;
    } else if (file && (hl.startsWith('Binary files ') || hl === 'GIT binary patch')) {
      file.binary = true;
    }
  }
  return { lines, kinds, files };
}

export function parseDiffFiles(text) {
  return typeof text === 'string' ? scanDiff(text).files : [];
}
