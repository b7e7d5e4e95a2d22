// Every code block of README.md and docs/*.md runs, as a reader would run it:
// in a project of its own whose node_modules/forkful is this package (the
// built dist/ and esm/, which jest's global setup brings up to date), with
// the names the page assumes supplied by the doc-test comments above the
// block (test/helpers/doc-snippets.ts says how to write them).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { programOf, snippetsOf, type Snippet } from '../helpers/doc-snippets';
import { addonTested, runScript, spawnBackend } from '../helpers/fixture';

const root = path.join(__dirname, '..', '..');
const pages = [
  'README.md',
  ...fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const major = Number(process.versions.node.split('.')[0]);
const tsx = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

function whySkipped(snippet: Snippet): string | null {
  if (snippet.skip) return snippet.skip;
  if (snippet.fork && spawnBackend) return 'needs os.fork';
  if (snippet.addon && !addonTested) return 'needs the addon';
  if (major < snippet.minNode) return `needs Node ${snippet.minNode}`;
  return null;
}

function run(snippet: Snippet): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-snippet-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'forkful'), 'dir');
    for (const [name, text] of Object.entries(snippet.files)) {
      fs.writeFileSync(path.join(dir, name), `${text}\n`);
    }
    const program = programOf(snippet);
    fs.writeFileSync(path.join(dir, program.name), program.source);
    const result = runScript(path.join(dir, program.name), [], {
      cwd: dir,
      timeoutMs: 60000,
      nodeArgs: snippet.lang === 'ts' ? ['--import', tsx] : [],
    });
    const shown = `${snippet.where}\n--- program\n${program.source}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    if (result.status !== 0) throw new Error(`exit ${result.status ?? result.signal}: ${shown}`);
    if (snippet.stdout !== null && result.stdout.trimEnd() !== snippet.stdout.trimEnd()) {
      throw new Error(`printed other than its doc-test stdout:\n${snippet.stdout}\n${shown}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const page of pages) {
  const snippets = snippetsOf(root, page);
  if (snippets.length === 0) continue;
  describe(page, () => {
    for (const snippet of snippets) {
      const why = whySkipped(snippet);
      const title = `${snippet.where}: ${snippet.code.split('\n')[0]}`;
      if (why) test.skip(`${title} (${why})`, () => {});
      else test(title, () => run(snippet), 90000);
    }
  });
}
