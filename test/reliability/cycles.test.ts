// Issue 14, item 1: cyclic values cross every channel (structured clone
// keeps cycles; forkful's shareable encoder and decoder must too).
import { deserialize, serialize } from '../../lib/transfer/serialize';
import { kShare, registerShareable } from '../../lib/transfer/shareable';
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

class Token {
  constructor(readonly id: number) {}
  [kShare]() {
    return { kind: 'test.CycleToken', state: { id: this.id } };
  }
}
registerShareable('test.CycleToken', (state) => new Token((state as { id: number }).id));

interface Node {
  self?: Node;
  list: unknown[];
  m: Map<string, unknown>;
  token?: Token;
  again?: { token: Token };
}

describe('cyclic values', () => {
  test('a cyclic value without shareables round-trips with its cycles', () => {
    const root: Node = { list: [], m: new Map() };
    root.self = root;
    root.list.push(root.list, root);
    root.m.set('back', root);
    const back = deserialize(serialize(root)) as Node;
    expect(back.self).toBe(back);
    expect(back.list[0]).toBe(back.list);
    expect(back.list[1]).toBe(back);
    expect(back.m.get('back')).toBe(back);
  });

  test('a cyclic value holding a shareable twice: one revived object, cycles kept', () => {
    const token = new Token(9);
    const root: Node = { list: [], m: new Map() };
    root.self = root;
    root.token = token;
    root.again = { token };
    root.list.push(root);
    root.m.set('t', token);
    const back = deserialize(serialize(root)) as Node;
    expect(back.self).toBe(back);
    expect(back.list[0]).toBe(back);
    expect(back.token).toBeInstanceOf(Token);
    expect(back.token!.id).toBe(9);
    expect(back.again!.token).toBe(back.token);
    expect(back.m.get('t')).toBe(back.token);
    // The sender's value is untouched (the markers live on a copy).
    expect(root.token).toBe(token);
    expect(root.self).toBe(root);
  });

  needsFork.test('through Pipe, Queue, Pool arguments and results, and Thread arguments', () => {
    const run = runFixture('rel-cycles.js', [], { timeoutMs: 60000 });
    const r = results(run.stdout);
    if (!r.done)
      throw new Error(`rel-cycles failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    expect(r).toMatchObject({
      pipePlain: 'ok',
      pipeShared: 'ok',
      pipeChild: 'ok',
      pipeFromChild: 'ok',
      queue: 'ok',
      queueFromChild: 'ok',
      poolArg: 'ok',
      poolResultPlain: 'ok',
      poolResultShared: 'ok',
      poolMap: ['ok', 'ok'],
      thread: 'ok',
    });
  });
});
