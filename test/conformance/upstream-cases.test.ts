// Checks test/conformance/upstream-cases.json, the account of every upstream
// test case of the suites ported here (issue 15), against the case names
// written in the conformance test files, both ways: every case marked
// "ported" has a jest case of that name, every jest case named like an
// upstream one ("Class.test_x", optionally followed by " (variant)") is
// marked "ported", and every other case has a reason (none left "missing").
// Also keeps docs/conformance.md in step with the JSON.
//
// Names are read from the sources, not by running the files: a literal
// 'Class.test_x' is a name; a template such as `${cls}.test_apply` stands for
// every name it matches whose `${...}` parts are grounded: empty, a word some
// string literal of the file (or a helper it imports) contains, or a word
// another template of the file makes from grounded parts.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Suite {
  upstream: string;
  names: string;
  tests: string[];
  aliases?: Record<string, string>;
  cases: Record<string, string>;
}
interface Account {
  suites: Record<string, Suite>;
}

const root = path.join(__dirname, '..', '..');
const account = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'upstream-cases.json'), 'utf8'),
) as Account;

// Upstream test classes are capitalised (_TestProcess, ThreadTests, Test).
const CASE_NAME = /^(_?[A-Z]\w*)\.(test\w*)(?: \(.+\))?$/;
// A reason is "category: detail", one of these categories.
const REASON = new RegExp(
  "^(documented difference|not feasible in Node|not in forkful's API|CPython internals|" +
    'gevent internals|Python-specific|manager flavour|Windows-only|skipped upstream|' +
    'ported elsewhere): .+',
);

/** The source of a file without its comments (the strings stay). */
function withoutComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .filter((line) => !/^\s*\/\//.test(line))
    .map((line) => line.replace(/\s\/\/\s.*$/, ''))
    .join('\n');
}

/** A test file's own source and the helpers it imports (./helpers/x). */
function sourcesOf(file: string): { own: string; helpers: string } {
  const own = withoutComments(fs.readFileSync(path.join(root, file), 'utf8'));
  const helpers = [...own.matchAll(/from '\.\/helpers\/([\w-]+)'/g)]
    .map((m) => path.join(root, path.dirname(file), 'helpers', `${m[1]}.ts`))
    .filter((helper) => fs.existsSync(helper))
    .map((helper) => withoutComments(fs.readFileSync(helper, 'utf8')));
  return { own, helpers: helpers.join('\n') };
}

const literalsOf = (source: string): string[] =>
  [...source.matchAll(/'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"/g)].map((m) => m[1] ?? m[2]);
const templatesOf = (source: string): string[] =>
  [...source.matchAll(/`([^`]*)`/g)].map((m) => m[1]).filter((t) => t.includes('${'));

/** A template as a regular expression: each `${...}` a captured word. */
const templatePattern = (template: string): RegExp =>
  new RegExp(
    '^' +
      template
        .split(/\$\{[^}]*\}/)
        .map((part) => part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&'))
        .join('(\\w*)') +
      '$',
  );

interface Names {
  exact: Set<string>;
  /** Does some template of the file name this case? */
  byTemplate(name: string): boolean;
  /** Templates that look like case names ("X.test..." or "X.${...}"). */
  templates: string[];
}

function namesIn(file: string): Names {
  const { own, helpers } = sourcesOf(file);
  const all = `${own}\n${helpers}`;
  const literals = literalsOf(all);
  const templates = templatesOf(all).map((t) => ({ t, re: templatePattern(t) }));
  const grounded = (word: string, depth: number): boolean =>
    word === '' ||
    literals.some((l) => l.includes(word)) ||
    (depth > 0 &&
      templates.some(({ re }) => {
        const m = re.exec(word);
        return m !== null && m.slice(1).every((part) => grounded(part, depth - 1));
      }));
  const exact = new Set(
    literals.filter((l) => CASE_NAME.test(l)).map((l) => l.replace(/ \(.+\)$/, '')),
  );
  const nameTemplates = templates.filter(({ t }) => /^[\w${}]+\.(test|\$\{)/.test(t));
  return {
    exact,
    templates: templatesOf(own).filter((t) => /^[\w${}]+\.(test|\$\{)/.test(t)),
    byTemplate: (name) =>
      nameTemplates.some(({ re }) => {
        const m = re.exec(name);
        return m !== null && m.slice(1).every((part) => grounded(part, 2));
      }),
  };
}

const suites = Object.entries(account.suites);
const files = [...new Set(suites.flatMap(([, s]) => s.tests))];
const names = new Map(files.map((f) => [f, namesIn(f)]));
const keyOf = (suite: Suite, name: string): string => suite.aliases?.[name] ?? name;

describe('upstream-cases.json', () => {
  test('every conformance test file is listed under some suite', () => {
    const onDisk = fs
      .readdirSync(__dirname)
      .filter((f) => f.endsWith('.test.ts') && f !== path.basename(__filename))
      .map((f) => `test/conformance/${f}`);
    expect(onDisk.filter((f) => !files.includes(f))).toEqual([]);
  });

  test('every case is ported or has a reason (none "missing")', () => {
    const bad = suites.flatMap(([name, s]) =>
      Object.entries(s.cases)
        .filter(([, v]) => v !== 'ported' && !REASON.test(v))
        .map(([k, v]) => `${name}: ${k}: ${v}`),
    );
    expect(bad).toEqual([]);
  });

  test('every "ported" case has a jest case of that name', () => {
    const absent = suites.flatMap(([suiteName, s]) =>
      Object.entries(s.cases)
        .filter(([, v]) => v === 'ported')
        .map(([k]) => k)
        .filter((k) => {
          const written = [k, ...Object.keys(s.aliases ?? {}).filter((a) => s.aliases?.[a] === k)];
          return !s.tests.some((f) => {
            const n = names.get(f) as Names;
            return written.some((w) => n.exact.has(w) || n.byTemplate(w));
          });
        })
        .map((k) => `${suiteName}: ${k}`),
    );
    expect(absent).toEqual([]);
  });

  test('every jest case named after an upstream case is marked "ported"', () => {
    const unaccounted: string[] = [];
    for (const f of files) {
      const mine = suites.map(([, s]) => s).filter((s) => s.tests.includes(f));
      const n = names.get(f) as Names;
      for (const name of n.exact) {
        if (!mine.some((s) => s.cases[keyOf(s, name)] === 'ported')) {
          unaccounted.push(`${f}: ${name}`);
        }
      }
      for (const t of n.templates) {
        const re = templatePattern(t);
        const matches = mine.some((s) =>
          Object.entries(s.cases).some(([k, v]) => v === 'ported' && re.test(k)),
        );
        if (!matches) unaccounted.push(`${f}: \`${t}\``);
      }
    }
    expect(unaccounted).toEqual([]);
  });

  test('docs/conformance.md is generated from it (node scripts/conformance-report.js)', () => {
    const report = require('../../scripts/conformance-report.js') as {
      render(a: Account): string;
    };
    const doc = fs.readFileSync(path.join(root, 'docs', 'conformance.md'), 'utf8');
    expect(doc).toBe(report.render(account));
  });
});
