// The one encoding for values that cross processes and threads.
import * as vm from 'node:vm';
import { SerializationError } from '../../lib/core/errors';
import { deserialize, serialize } from '../../lib/transfer/serialize';
import {
  decodeShareables,
  encodeShareables,
  kShare,
  registerShareable,
} from '../../lib/transfer/shareable';

class Token {
  constructor(readonly id: number) {}
  [kShare]() {
    return { kind: 'test.Token', state: { id: this.id } };
  }
}
registerShareable('test.Token', (state) => new Token((state as { id: number }).id));

describe('serialize', () => {
  test('plain values round-trip by structured clone', () => {
    const value = {
      a: [1, 'two', null],
      m: new Map([[1, { b: 2 }]]),
      d: new Date(5),
      u: undefined,
    };
    const back = deserialize(serialize(value)) as typeof value;
    // (compared field by field: v8.deserialize builds Maps of Node's realm, not jest's)
    expect(back.a).toEqual(value.a);
    expect([...back.m.entries()]).toEqual([[1, { b: 2 }]]);
    expect(back.d.getTime()).toBe(5);
    expect('u' in back && back.u === undefined).toBe(true);
  });

  test('shareable objects travel by handle at any depth', () => {
    const t = new Token(7);
    const back = deserialize(serialize({ list: [t, { inner: t }], m: new Map([['k', t]]) })) as {
      list: [Token, { inner: Token }];
      m: Map<string, Token>;
    };
    expect(back.list[0]).toBeInstanceOf(Token);
    expect(back.list[0].id).toBe(7);
    expect(back.list[1].inner.id).toBe(7);
    expect(back.m.get('k')).toBeInstanceOf(Token);
  });

  test('encoding leaves values without shareables untouched (no copy)', () => {
    const value = { a: [1, 2, { b: 3 }] };
    expect(encodeShareables(value)).toBe(value);
  });

  test('markers built in another realm are still revived', () => {
    const foreign = vm.runInNewContext('({ list: [marker] })', {
      marker: vm.runInNewContext('({ __forkful_shared__: "test.Token", state: { id: 3 } })'),
    });
    const back = decodeShareables(foreign) as { list: Token[] };
    expect(back.list[0]).toBeInstanceOf(Token);
  });

  test('a value that cannot travel is a SerializationError naming it', () => {
    expect(() => serialize({ f: () => 1 })).toThrow(SerializationError);
    expect(() => serialize(function named() {})).toThrow(/function named/);
  });

  test('an unknown shareable kind says which module is missing', () => {
    expect(() => decodeShareables({ __forkful_shared__: 'nope.Kind', state: 1 })).toThrow(
      /'nope.Kind'/,
    );
  });

  test('a kind decodes wherever an entry point was loaded; elsewhere the error says which', () => {
    // The revivers are installed by the entry points (lib/shareables.ts),
    // never loaded from below: this file has imported none of them yet.
    const marker = () => ({ __forkful_shared__: 'forkful.Lock', state: null });
    expect(() => decodeShareables(marker())).toThrow(
      /'forkful.Lock'.*load forkful, forkful\/multiprocessing or forkful\/threading/,
    );
    require('../../lib/multiprocessing');
    const kinds = (() => {
      try {
        return (decodeShareables(marker()) as object).constructor.name;
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(kinds).not.toMatch(/was not loaded/);
  });
});
