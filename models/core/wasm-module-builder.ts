/**
 * A minimal WebAssembly binary writer: enough of the format (type, function,
 * memory, export and code sections; the handful of opcodes our kernels use)
 * to emit a module from TypeScript at run time. It exists so that the repo
 * holds the kernel as readable source rather than a checked-in binary, and so
 * that nothing is downloaded or compiled at install time.
 *
 * Format: https://webassembly.github.io/spec/core/binary/ (modules, sections,
 * LEB128 integers), SIMD opcodes from the fixed-width SIMD proposal (merged
 * into the core spec 2.0). Pure: it only builds bytes.
 */

/** Value types (binary encoding). */
export const I32 = 0x7f
export const F64 = 0x7c
export const V128 = 0x7b
export type ValueType = typeof I32 | typeof F64 | typeof V128

/** Unsigned LEB128, for sizes, counts and indices. Requires 0 <= n < 2^32. */
export function uleb128(n: number): number[] {
  const out: number[] = []
  let rest = n >>> 0
  do {
    const byte = rest & 0x7f
    rest >>>= 7
    out.push(rest === 0 ? byte : byte | 0x80)
  } while (rest !== 0)
  return out
}

/** Signed LEB128, for `i32.const` immediates. Requires a 32-bit signed integer. */
export function sleb128(n: number): number[] {
  const out: number[] = []
  let rest = n | 0
  for (;;) {
    const byte = rest & 0x7f
    rest >>= 7
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)
    out.push(done ? byte : byte | 0x80)
    if (done) return out
  }
}

/** The instructions the kernels use, each as its bytes. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb128(depth)],
  brIf: (depth: number) => [0x0d, ...uleb128(depth)],
  localGet: (i: number) => [0x20, ...uleb128(i)],
  localSet: (i: number) => [0x21, ...uleb128(i)],
  localTee: (i: number) => [0x22, ...uleb128(i)],
  call: (functionIndex: number) => [0x10, ...uleb128(functionIndex)],
  select: [0x1b],
  i32Const: (n: number) => [0x41, ...sleb128(n)],
  i32Load: (offset: number) => [0x28, 2, ...uleb128(offset)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Or: [0x72],
  i32GeU: [0x4f],
  i32GtU: [0x4b],
  i32Shl: [0x74],
  i32ShrU: [0x76],
  // Bulk memory: memory.fill(destination, byte, length) on memory 0.
  memoryFill: [0xfc, ...uleb128(0x0b), 0x00],
  // Fixed-width SIMD: prefix 0xfd, then the opcode as unsigned LEB128, then a memarg (log2 alignment, offset).
  v128Load: (offset: number) => [0xfd, ...uleb128(0x00), 3, ...uleb128(offset)],
  v128Store: (offset: number) => [0xfd, ...uleb128(0x0b), 3, ...uleb128(offset)],
  v128Load64Splat: (offset: number) => [0xfd, ...uleb128(0x0a), 3, ...uleb128(offset)],
  v128Load64Zero: (offset: number) => [0xfd, ...uleb128(0x5d), 3, ...uleb128(offset)],
  v128Store64Lane: (offset: number, lane: number) => [0xfd, ...uleb128(0x5b), 3, ...uleb128(offset), lane],
  f64x2Splat: [0xfd, ...uleb128(0x14)],
  f32x4Ne: [0xfd, ...uleb128(0x42)],
  v128AnyTrue: [0xfd, ...uleb128(0x53)],
  f32x4Add: [0xfd, ...uleb128(0xe4)],
  f32x4Sub: [0xfd, ...uleb128(0xe5)],
  f64x2Add: [0xfd, ...uleb128(0xf0)],
  f64x2Mul: [0xfd, ...uleb128(0xf2)],
  f64x2Div: [0xfd, ...uleb128(0xf3)],
  f64x2PromoteLowF32x4: [0xfd, ...uleb128(0x5f)],
  f32x4DemoteF64x2Zero: [0xfd, ...uleb128(0x5e)],
} as const

export interface FunctionDefinition {
  /** Export name. */
  readonly name: string
  readonly params: readonly ValueType[]
  readonly results: readonly ValueType[]
  /** Locals after the parameters, indexed from `params.length`. */
  readonly locals: readonly ValueType[]
  /** The body's instructions, without the final `end`. */
  readonly body: readonly (readonly number[])[]
}

export interface ModuleDefinition {
  /** Pages (64 KiB) of the one memory, exported as `memory`; it never grows. Ignored with `importedMemory`. */
  readonly memoryPages: number
  /**
   * Import the memory as `env.memory` instead of defining it, with these
   * limits (pages): so that one memory, possibly shared between threads, is
   * made by the caller and can be handed to several instances.
   */
  readonly importedMemory?: { readonly initialPages: number; readonly maximumPages: number; readonly shared: boolean }
  /** In order; a function's index (for `op.call`) is its position here. */
  readonly functions: readonly FunctionDefinition[]
}

const vector = (items: readonly (readonly number[])[]): number[] => [...uleb128(items.length), ...items.flat()]
const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)]
const section = (id: number, contents: readonly number[]): number[] => [id, ...uleb128(contents.length), ...contents]

/** The bytes of a module with one memory (defined, or imported as `env.memory`) and `functions`, each with its own type and export. */
export function buildModule(definition: ModuleDefinition): Uint8Array {
  const fns = definition.functions
  const types = fns.map((f) => [0x60, ...vector(f.params.map((p) => [p])), ...vector(f.results.map((r) => [r]))])
  const functionIndices = fns.map((_, i) => uleb128(i))
  const name = (s: string): number[] => [...uleb128(utf8(s).length), ...utf8(s)]
  const imported = definition.importedMemory
  // Limits: 0x00 minimum only; 0x01 minimum and maximum; 0x03 the same, shared (threads proposal).
  const memory = [[0x00, ...uleb128(definition.memoryPages)]]
  const importLimits = imported === undefined ? [] : [imported.shared ? 0x03 : 0x01, ...uleb128(imported.initialPages), ...uleb128(imported.maximumPages)]
  // Import kind 0x02: memory.
  const imports = imported === undefined ? [] : [[...name('env'), ...name('memory'), 0x02, ...importLimits]]
  // Export kinds: 0x00 function, 0x02 memory.
  const exports = [[...name('memory'), 0x02, 0x00], ...fns.map((f, i) => [...name(f.name), 0x00, ...uleb128(i)])]
  const bodies = fns.map((f) => {
    // Locals are declared as runs of (count, type); one run per local keeps it simple.
    const code = [...vector(f.locals.map((l) => [1, l])), ...f.body.flat(), ...op.end]
    return [...uleb128(code.length), ...code]
  })
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d], // "\0asm"
    ...[0x01, 0x00, 0x00, 0x00], // version 1
    ...section(1, vector(types)),
    ...(imported === undefined ? [] : section(2, vector(imports))),
    ...section(3, vector(functionIndices)),
    ...(imported === undefined ? section(5, vector(memory)) : []),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies)),
  ])
}
