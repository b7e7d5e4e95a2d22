// Issue 14: a SimpleQueue writer SIGKILLed in the middle of an item larger
// than the pipe. The reader waiting for the rest of it reports the item
// lost (ItemLostError), as Queue's does, instead of waiting forever; later
// items arrive intact.
import { results, runFixture } from '../helpers/fixture';
import { needsFork } from '../helpers/needs';

// The fixture's children are closures (the fork start method).
needsFork.describe('a SimpleQueue writer killed in the middle of an item', () => {
  test('get() here and getSync() in a child report the item lost, then later items arrive', () => {
    const run = runFixture('rel-simplequeue-torn.js', [], { timeoutMs: 120000 });
    const r = results(run.stdout);
    if (!r.done) {
      throw new Error(`rel-simplequeue-torn failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
    const round = (how: string) => ({
      writerExit: -9,
      lost: how === 'get' ? 'ItemLostError ERR_FORKFUL_ITEM_LOST' : 'ItemLostError in the child',
      lostWithin10s: true,
      after: [`after-${how}`, 'big item'],
    });
    expect(r.writerKilled).toEqual({ get: round('get'), getSync: round('getSync') });
  });
});
