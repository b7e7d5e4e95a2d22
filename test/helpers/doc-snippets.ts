// The code blocks of README.md and docs/*.md, with what each needs to run.
// Every ```js / ```cjs / ```mjs / ```ts block is a program that runs in CI
// (test/environments/doc-snippets.test.ts). HTML comments just above a block
// (invisible on GitHub) say what the reader is assumed to have:
//
//   <!-- doc-test: setup          code run before the block (names it uses)
//   const urls = [...];
//   -->
//   <!-- doc-test: teardown       code run after it (pool.close() ...)
//   <!-- doc-test: file tasks.js  a file beside the program
//   <!-- doc-test: stdout         what it must print, exactly
//   <!-- doc-test: fork -->       needs os.fork (not on the spawn/portable backends)
//   <!-- doc-test: addon -->      needs the addon (not on the portable backend)
//   <!-- doc-test: node>=24 -->   needs that Node major (`await using`)
//   <!-- doc-test: skip: why -->  not a program (say why)
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Snippet {
  /** `docs/pool.md:86`: where the block opens. */
  where: string;
  lang: 'js' | 'cjs' | 'mjs' | 'ts';
  code: string;
  setup: string;
  teardown: string;
  files: Record<string, string>;
  stdout: string | null;
  fork: boolean;
  addon: boolean;
  minNode: number;
  skip: string | null;
}

const RUNNABLE = new Set(['js', 'cjs', 'mjs', 'ts']);
const DIRECTIVE = /^<!-- doc-test: ([^\n]*?)(?: -->$|\n([\s\S]*?)\n-->$)/;

/** The runnable blocks of one Markdown file (path relative to `root`). */
export function snippetsOf(root: string, file: string): Snippet[] {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const found: Snippet[] = [];
  let pending: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('<!-- doc-test:')) {
      let end = i;
      while (!lines[end].endsWith('-->')) end++;
      pending.push(lines.slice(i, end + 1).join('\n'));
      i = end;
      continue;
    }
    const fence = /^```(\w*)/.exec(line);
    if (!fence) {
      if (line.trim() !== '') pending = [];
      continue;
    }
    let end = i + 1;
    while (end < lines.length && !lines[end].startsWith('```')) end++;
    if (RUNNABLE.has(fence[1])) {
      found.push(
        withDirectives(
          `${file}:${i + 1}`,
          fence[1] as Snippet['lang'],
          lines.slice(i + 1, end).join('\n'),
          pending,
        ),
      );
    } else if (pending.length > 0) {
      throw new Error(`${file}:${i + 1}: a doc-test comment above a \`\`\`${fence[1]} block`);
    }
    pending = [];
    i = end;
  }
  return found;
}

function withDirectives(
  where: string,
  lang: Snippet['lang'],
  code: string,
  directives: string[],
): Snippet {
  const snippet: Snippet = {
    where,
    lang,
    code,
    setup: '',
    teardown: '',
    files: {},
    stdout: null,
    fork: false,
    addon: false,
    minNode: 0,
    skip: null,
  };
  for (const text of directives) {
    const m = DIRECTIVE.exec(text);
    if (!m) throw new Error(`${where}: cannot read the comment above it: ${text}`);
    const [head, body = ''] = [m[1].trim(), m[2]];
    const [verb, ...rest] = head.split(' ');
    const arg = rest.join(' ');
    if (verb === 'setup') snippet.setup = body;
    else if (verb === 'teardown') snippet.teardown = body;
    else if (verb === 'file' && arg) snippet.files[arg] = body;
    else if (verb === 'stdout') snippet.stdout = body;
    else if (verb === 'fork') snippet.fork = true;
    else if (verb === 'addon') snippet.addon = true;
    else if (/^node>=\d+$/.test(verb)) snippet.minNode = Number(verb.slice(6));
    else if (verb === 'skip:' && arg) snippet.skip = arg;
    else throw new Error(`${where}: unknown doc-test directive '${head}'`);
  }
  return snippet;
}

/** The program to run for a snippet: setup, the block, teardown. CommonJS
 * blocks are wrapped in an async function (the docs use top-level await,
 * as a reader's ESM file or REPL would); ESM blocks run as they are. */
export function programOf(snippet: Snippet): { name: string; source: string } {
  const esm = snippet.lang === 'mjs' || /^import\s/m.test(snippet.code);
  const body = [snippet.setup, snippet.code, snippet.teardown].filter(Boolean).join('\n');
  if (snippet.lang === 'ts') return { name: 'snippet.mts', source: body };
  if (esm) return { name: 'snippet.mjs', source: body };
  return {
    name: 'snippet.cjs',
    source:
      `(async () => {\n${body}\n})().catch((err) => {\n` +
      `  console.error(err);\n  process.exitCode = 1;\n});\n`,
  };
}
