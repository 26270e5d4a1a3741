/**
 * The aggregation kernel's memory: one shared `WebAssembly.Memory` that the
 * WebAssembly SIMD kernel (aggregate-kernel-simd.ts) and its second thread
 * (aggregate-second-thread.ts) both read, and an allocator for float32 arrays
 * inside it, so that decoded deltas can live where the kernel reads them in
 * place instead of being copied in chunk by chunk on every aggregation.
 *
 * Layout: bytes [0, reservedBytes) are the kernel's fixed scratch (control
 * block, per-thread accumulators, the copy path's chunks); the heap above it
 * holds arrays handed out by `kernelFloat32Array`, each in its own block.
 *
 * Lifetime: a block is freed when its array is garbage-collected
 * (FinalizationRegistry), never earlier, so no live array ever aliases
 * another; the registry's callbacks run between tasks, never inside a
 * synchronous aggregation. Consequence for callers: an array from here must
 * outlive any view made on it (`subarray`, `new Float32Array(a.buffer, …)`),
 * as a view does not keep the block alive; hand the array itself around.
 *
 * Purity: the allocator is module state, but unobservable in results: an
 * array from here holds the same values as any Float32Array, and only where
 * it lives changes (which the kernel uses for speed, never for arithmetic).
 * Without shared WebAssembly memory, or past HEAP_BUDGET_BYTES, it hands out
 * ordinary Float32Arrays, which the kernel copies as before.
 */

/** Bytes per WebAssembly page. */
const PAGE_BYTES = 65536
/** Blocks are aligned to, and sized in multiples of, this: it also pads every array past its end so the kernel's 8-value steps stay inside the block. */
const BLOCK_BYTES = 64
/** The heap's ceiling: 2 GiB of decoded weights (e.g. 25 sites × 20M parameters); past it, arrays are ordinary. */
const HEAP_BUDGET_BYTES = 2 ** 31
/** Grow by at least this much at a time (16 MiB): growing costs a system call and a new buffer object. */
const MIN_GROW_PAGES = 256

/** The slice of the WebAssembly JS API used here (this project's TypeScript libs carry no WebAssembly types). */
interface MemoryApi {
  readonly Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory
}
export interface WasmMemory {
  readonly buffer: ArrayBufferLike
  grow(pages: number): number
}

interface Block {
  offset: number
  bytes: number
}

/** The kernel's memory and its heap. */
export class KernelMemory {
  readonly memory: WasmMemory
  readonly reservedBytes: number
  readonly maximumPages: number
  /** Free blocks, sorted by offset, never adjacent (adjacent ones are merged). */
  readonly #free: Block[] = []
  /** Every buffer object the memory has had (a grow makes a new one; views on older ones stay valid). */
  readonly #buffers = new WeakSet<ArrayBufferLike>()
  readonly #registry = new FinalizationRegistry<Block>((block) => this.#release(block))

  constructor(memory: WasmMemory, reservedBytes: number, maximumPages: number) {
    this.memory = memory
    this.reservedBytes = reservedBytes
    this.maximumPages = maximumPages
    const size = this.#buffer().byteLength
    if (size > reservedBytes) this.#free.push({ offset: reservedBytes, bytes: size - reservedBytes })
  }

  #buffer(): ArrayBufferLike {
    const buffer = this.memory.buffer
    this.#buffers.add(buffer)
    return buffer
  }

  /** True if `view` lies in this memory (so the kernel can read it at `view.byteOffset`). */
  holds(view: ArrayBufferView): boolean {
    return this.#buffers.has(view.buffer)
  }

  /** A fresh array of `length` float32 values in the heap, or null when the heap is full. Its values are not zeroed. */
  float32Array(length: number): Float32Array | null {
    const bytes = Math.max(BLOCK_BYTES, Math.ceil((4 * length) / BLOCK_BYTES) * BLOCK_BYTES)
    const offset = this.#take(bytes)
    if (offset === null) return null
    const view = new Float32Array(this.#buffer(), offset, length)
    this.#registry.register(view, { offset, bytes })
    return view
  }

  /** A block of scratch bytes for one call; the caller frees it with `releaseScratch` before returning. */
  scratch(bytes: number): number | null {
    return this.#take(Math.ceil(bytes / BLOCK_BYTES) * BLOCK_BYTES)
  }

  releaseScratch(offset: number, bytes: number): void {
    this.#release({ offset, bytes: Math.ceil(bytes / BLOCK_BYTES) * BLOCK_BYTES })
  }

  /** First fit, growing the memory when no free block is large enough. */
  #take(bytes: number): number | null {
    let index = this.#free.findIndex((b) => b.bytes >= bytes)
    if (index < 0) {
      if (!this.#grow(bytes)) return null
      index = this.#free.findIndex((b) => b.bytes >= bytes)
      if (index < 0) return null
    }
    const block = this.#free[index]!
    const offset = block.offset
    if (block.bytes === bytes) this.#free.splice(index, 1)
    else {
      block.offset += bytes
      block.bytes -= bytes
    }
    return offset
  }

  #grow(bytes: number): boolean {
    const size = this.#buffer().byteLength
    const last = this.#free.at(-1)
    const tail = last !== undefined && last.offset + last.bytes === size ? last.bytes : 0
    const pages = Math.max(MIN_GROW_PAGES, Math.ceil((bytes - tail) / PAGE_BYTES))
    const grown = Math.min(pages, this.maximumPages - size / PAGE_BYTES)
    if (grown * PAGE_BYTES + tail < bytes || size - this.reservedBytes + grown * PAGE_BYTES > HEAP_BUDGET_BYTES) return false
    this.memory.grow(grown)
    this.#release({ offset: size, bytes: grown * PAGE_BYTES })
    this.#buffer()
    return true
  }

  /** Returns a block to the free list, merged with its free neighbours. */
  #release(block: Block): void {
    const free = this.#free
    let i = 0
    while (i < free.length && free[i]!.offset < block.offset) i++
    const merged = { offset: block.offset, bytes: block.bytes }
    const before = free[i - 1]
    if (before !== undefined && before.offset + before.bytes === merged.offset) {
      merged.offset = before.offset
      merged.bytes += before.bytes
      free.splice(--i, 1)
    }
    const after = free[i]
    if (after !== undefined && merged.offset + merged.bytes === after.offset) {
      merged.bytes += after.bytes
      free.splice(i, 1)
    }
    free.splice(i, 0, merged)
  }
}

let kernelMemory: KernelMemory | null | undefined

/**
 * Bytes at the bottom of the memory that the kernel keeps for its fixed
 * scratch (aggregate-kernel-simd.ts lays it out and checks that it fits).
 */
export const KERNEL_SCRATCH_BYTES = 16 * PAGE_BYTES

/**
 * The shared kernel memory, made on first use; null where the engine has no
 * shared WebAssembly memory (then arrays are ordinary and the kernel keeps
 * its own private memory).
 */
export function sharedKernelMemory(): KernelMemory | null {
  if (kernelMemory !== undefined) return kernelMemory
  kernelMemory = null
  const api = (globalThis as { WebAssembly?: MemoryApi }).WebAssembly
  if (api === undefined || typeof SharedArrayBuffer === 'undefined') return null
  const maximumPages = (KERNEL_SCRATCH_BYTES + HEAP_BUDGET_BYTES) / PAGE_BYTES
  try {
    const memory = new api.Memory({ initial: KERNEL_SCRATCH_BYTES / PAGE_BYTES, maximum: maximumPages, shared: true })
    kernelMemory = new KernelMemory(memory, KERNEL_SCRATCH_BYTES, maximumPages)
  } catch {
    // No shared memory on this engine (or not enough address space to reserve): the kernel copies, as without this module.
    kernelMemory = null
  }
  return kernelMemory
}

/**
 * A fresh Float32Array of `length` values that the aggregation kernel reads
 * in place (in its shared memory), or an ordinary one where that memory is
 * unavailable or full. Either way a plain Float32Array to the caller, with
 * unspecified initial values: fill it before reading. Keep the array itself
 * alive while any view on it is in use (see the module comment).
 */
export function kernelFloat32Array(length: number): Float32Array {
  return sharedKernelMemory()?.float32Array(length) ?? new Float32Array(length)
}
