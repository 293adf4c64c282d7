// A small typed codec for fixed-layout C structs: each field names its C
// member, offset and size, so that a test can hold the layout against BTF.

export interface Field<T> {
  /** member name in the C struct */
  readonly c: string;
  readonly offset: number;
  readonly size: number;
  read(buf: Buffer, offset: number): T;
  write(buf: Buffer, offset: number, value: T): void;
}

type FieldKind<T> = Omit<Field<T>, 'c' | 'offset'>;

export const u8: FieldKind<number> = {
  size: 1,
  read: (b, o) => b.readUInt8(o),
  write: (b, o, v) => void b.writeUInt8(v, o),
};

export const u16: FieldKind<number> = {
  size: 2,
  read: (b, o) => b.readUInt16LE(o),
  write: (b, o, v) => void b.writeUInt16LE(v, o),
};

export const u32: FieldKind<number> = {
  size: 4,
  read: (b, o) => b.readUInt32LE(o),
  write: (b, o, v) => void b.writeUInt32LE(v, o),
};

export const u64: FieldKind<bigint> = {
  size: 8,
  read: (b, o) => b.readBigUInt64LE(o),
  write: (b, o, v) => void b.writeBigUInt64LE(v, o),
};

/** __be16: a port, as a number in host order. */
export const be16: FieldKind<number> = {
  size: 2,
  read: (b, o) => b.readUInt16BE(o),
  write: (b, o, v) => void b.writeUInt16BE(v, o),
};

/** Raw bytes (addresses, MACs), copied in and out. */
export function bytes(size: number): FieldKind<Buffer> {
  return {
    size,
    read: (b, o) => Buffer.from(b.subarray(o, o + size)),
    write: (b, o, v) => {
      if (v.length !== size) throw new RangeError(`field wants ${size} bytes, got ${v.length}`);
      v.copy(b, o);
    },
  };
}

export function field<T>(c: string, offset: number, kind: FieldKind<T>): Field<T> {
  return { c, offset, ...kind };
}

export type Fields = Record<string, Field<unknown>>;
export type ValueOf<F extends Fields> = { [K in keyof F]: F[K] extends Field<infer T> ? T : never };

export interface StructCodec<F extends Fields> {
  /** the C struct's name */
  readonly c: string;
  readonly size: number;
  readonly fields: F;
  encode(value: ValueOf<F>): Buffer;
  decode(buf: Buffer): ValueOf<F>;
}

export function struct<F extends Fields>(c: string, size: number, fields: F): StructCodec<F> {
  for (const [name, f] of Object.entries(fields)) {
    if (f.offset + f.size > size) throw new RangeError(`${c}.${name} ends past the struct's ${size} bytes`);
  }
  return {
    c,
    size,
    fields,
    encode(value) {
      const buf = Buffer.alloc(size);
      for (const [name, f] of Object.entries(fields)) {
        f.write(buf, f.offset, (value as Record<string, unknown>)[name]);
      }
      return buf;
    },
    decode(buf) {
      if (buf.length < size) throw new RangeError(`${c}: ${buf.length} bytes, want ${size}`);
      const out: Record<string, unknown> = {};
      for (const [name, f] of Object.entries(fields)) out[name] = f.read(buf, f.offset);
      return out as ValueOf<F>;
    },
  };
}

/** Any struct codec, for code that walks layouts rather than values. */
export type AnyStruct = StructCodec<Fields>;
