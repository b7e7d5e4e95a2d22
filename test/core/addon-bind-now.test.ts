// The addon is linked with -z now (binding.gyp, CMakeLists.txt): its
// symbols are bound once as it loads, so a forked child does not run the
// dynamic linker for each addon function it calls first (about 35 lazy
// bindings per Process start before).
import * as fs from 'node:fs';
import { nativeStatus } from '../../lib/core/native';

const DT_FLAGS = 30n;
const DF_BIND_NOW = 0x8n;
const DT_FLAGS_1 = 0x6ffffffbn;
const DF_1_NOW = 0x1n;
const PT_DYNAMIC = 2;

/** The dynamic section's tags of a 64-bit little-endian ELF file. */
function dynamicTags(file: string): Map<bigint, bigint> {
  const elf = fs.readFileSync(file);
  expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const tags = new Map<bigint, bigint>();
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== PT_DYNAMIC) continue;
    const offset = Number(elf.readBigUInt64LE(ph + 8));
    const size = Number(elf.readBigUInt64LE(ph + 32));
    for (let at = offset; at + 16 <= offset + size; at += 16) {
      const tag = elf.readBigUInt64LE(at);
      if (tag === 0n) break;
      tags.set(tag, elf.readBigUInt64LE(at + 8));
    }
  }
  return tags;
}

const status = nativeStatus();
const testLinux =
  status.loaded && process.platform === 'linux' && process.arch === 'x64' ? test : test.skip;

testLinux('the addon binds its symbols at load time (-z now)', () => {
  const tags = dynamicTags(status.binary!);
  const now =
    ((tags.get(DT_FLAGS) ?? 0n) & DF_BIND_NOW) !== 0n ||
    ((tags.get(DT_FLAGS_1) ?? 0n) & DF_1_NOW) !== 0n;
  expect(now).toBe(true);
});
