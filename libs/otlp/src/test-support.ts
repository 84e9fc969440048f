/**
 * Protobuf wire-byte builders for the codec's tests, written from the protobuf encoding rules
 * directly and independent of ProtoWriter, so tests check our encoder and decoder against them.
 */
export type Bytes = number[];

export function varint(value: number | bigint): Bytes {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: Bytes = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest === 0n ? low : low | 0x80);
  } while (rest !== 0n);
  return out;
}
export const key = (field: number, wire: number): Bytes => varint(field * 8 + wire);
export const vint = (field: number, value: number | bigint): Bytes => [...key(field, 0), ...varint(value)];
export const len = (field: number, ...parts: Bytes[]): Bytes => {
  const body = parts.flat();
  return [...key(field, 2), ...varint(body.length), ...body];
};
export const str = (field: number, text: string): Bytes => len(field, [...new TextEncoder().encode(text)]);
export const fixed64 = (field: number, value: bigint): Bytes => {
  const out = key(field, 1);
  for (let i = 0n; i < 8n; i++) out.push(Number((value >> (8n * i)) & 0xffn));
  return out;
};
export const fixed32 = (field: number, value: number): Bytes => [...key(field, 5), value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
export const double = (field: number, value: number): Bytes => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value, true);
  return [...key(field, 1), ...new Uint8Array(view.buffer)];
};
