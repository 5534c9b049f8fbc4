/**
 * Rewrite one string property of a flattened device tree's root node (the `model` the kernel prints
 * as "Machine model: ..."), resizing the structure block: a test's way to mark which tree a kernel got.
 * The format: devicetree-specification, chapter 5 (big-endian header, structure block of tokens,
 * strings block of property names).
 */
const MAGIC = 0xd00dfeed;
const BEGIN_NODE = 1; const PROP = 3;

const align4 = (n: number): number => (n + 3) & ~3;

/** `dtb` with the root node's property `name` set to the string `value`; throws when the root has no such property. */
export function setRootString(dtb: Buffer, name: string, value: string): Buffer {
  if (dtb.readUInt32BE(0) !== MAGIC) throw new Error('not a flattened device tree');
  const offStruct = dtb.readUInt32BE(8); const offStrings = dtb.readUInt32BE(12);
  let at = offStruct;
  if (dtb.readUInt32BE(at) !== BEGIN_NODE) throw new Error('the structure block does not start with the root node');
  at = align4(dtb.indexOf(0, at + 4) + 1); // the root's name (empty)
  while (dtb.readUInt32BE(at) === PROP) {
    const len = dtb.readUInt32BE(at + 4);
    const nameOff = dtb.readUInt32BE(at + 8);
    const propName = dtb.toString('latin1', offStrings + nameOff, dtb.indexOf(0, offStrings + nameOff));
    const end = at + 12 + align4(len);
    if (propName === name) {
      const v = Buffer.from(`${value}\0`, 'latin1');
      const prop = Buffer.alloc(12 + align4(v.length));
      prop.writeUInt32BE(PROP, 0); prop.writeUInt32BE(v.length, 4); prop.writeUInt32BE(nameOff, 8); v.copy(prop, 12);
      const out = Buffer.concat([dtb.subarray(0, at), prop, dtb.subarray(end)]);
      const delta = prop.length - (end - at);
      out.writeUInt32BE(dtb.readUInt32BE(4) + delta, 4); // totalsize
      for (const field of [8, 12, 16]) if (dtb.readUInt32BE(field) > at) out.writeUInt32BE(dtb.readUInt32BE(field) + delta, field); // the blocks after it
      out.writeUInt32BE(dtb.readUInt32BE(36) + delta, 36); // size_dt_struct
      return out;
    }
    at = end;
  }
  throw new Error(`the root node has no property ${name}`);
}
