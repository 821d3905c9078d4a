/**
 * The video that Chromium's fake camera plays: a moving sine gradient with light luma grain, as a
 * YUV4MPEG2 file (I420). The built-in fake camera (640x480 at 20 fps, flat colours) compresses to
 * about 500 kbit/s whatever the target, and pure noise makes the encoder drop frames; a smooth
 * moving picture with ±12 grain keeps VP8 at its target, so the send rate follows the REMB.
 *
 * The gradient moves by exactly one period per loop, so the file loops without a cut.
 *
 * @module
 */

/** Options of {@linkcode writeGrainY4m}. */
export interface Y4mOptions {
  /**
   * Frame width in pixels (even).
   *
   * @default {1280}
   */
  width?: number;
  /**
   * Frame height in pixels (even).
   *
   * @default {720}
   */
  height?: number;
  /**
   * Frames per second.
   *
   * @default {30}
   */
  fps?: number;
  /**
   * Frames in the file; Chromium loops it.
   *
   * @default {60}
   */
  frames?: number;
  /**
   * Luma grain amplitude: each pixel gets a uniform offset in [-grain, grain].
   *
   * @default {12}
   */
  grain?: number;
  /**
   * Seed of the grain.
   *
   * @default {1}
   */
  seed?: number;
}

const TABLE_BITS = 12;
const TABLE_SIZE = 1 << TABLE_BITS;

/**
 * Builds one frame of the loop into `frame` (Y plane, then U, then V).
 *
 * @param frame The I420 buffer, width × height × 1.5 bytes.
 * @param index Frame number within the loop.
 * @param options Sizes, loop length, grain and seed.
 * @returns Nothing; `frame` is filled.
 * @example
 * ```ts
 * import { fillGrainFrame } from "./y4m.ts";
 * import assert from "node:assert/strict";
 *
 * const frame = new Uint8Array(16 * 8 * 1.5);
 * fillGrainFrame(frame, 0, { width: 16, height: 8, frames: 2 });
 * assert.ok(frame.some((v) => v !== frame[0]));
 * ```
 */
export function fillGrainFrame(frame: Uint8Array, index: number, options: Y4mOptions = {}): void {
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const frames = options.frames ?? 60;
  const grain = options.grain ?? 12;
  const sine = sineTable();
  // One period of phase per loop: the last frame runs smoothly into the first.
  const phase = Math.round((index / frames) * TABLE_SIZE);
  // Spatial frequencies in table steps per pixel: about 1.5 periods across, 0.7 down.
  const fx = (1.5 * TABLE_SIZE) / width;
  const fy = (0.7 * TABLE_SIZE) / height;
  let state = (options.seed ?? 1) * 0x9e3779b1 + index * 0x85ebca6b;
  state = (state >>> 0) || 1;
  const span = 2 * grain + 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const base = y * fy - phase;
    for (let x = 0; x < width; x++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const noise = ((state >>> 0) % span) - grain;
      const s = sine[Math.floor(x * fx + base) & (TABLE_SIZE - 1)];
      const w = sine[(Math.floor(x * 0.9 - y * 1.7) + 2 * phase) & (TABLE_SIZE - 1)];
      const v = 128 + 70 * s + 20 * w + noise;
      frame[row + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  const cw = width >> 1;
  const ch = height >> 1;
  const uOffset = width * height;
  const vOffset = uOffset + cw * ch;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const s = sine[Math.floor(2 * x * fx * 0.5 + 2 * y * fy * 0.8 - phase) & (TABLE_SIZE - 1)];
      const c = sine[Math.floor(2 * y * fy * 1.3 - 2 * x * fx * 0.3 + phase) & (TABLE_SIZE - 1)];
      frame[uOffset + y * cw + x] = 128 + 40 * s;
      frame[vOffset + y * cw + x] = 128 + 40 * c;
    }
  }
}

/**
 * Writes the looping grain video to `path` as YUV4MPEG2 (I420, "C420jpeg").
 *
 * @param path Where to write the file.
 * @param options Sizes, frame rate, loop length, grain and seed.
 * @returns The number of bytes written.
 * @example
 * ```ts ignore
 * import { writeGrainY4m } from "./y4m.ts";
 * await writeGrainY4m("/tmp/grain720.y4m"); // 1280x720, 30 fps, 2 s: about 83 MB
 * ```
 */
export async function writeGrainY4m(path: string, options: Y4mOptions = {}): Promise<number> {
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const fps = options.fps ?? 30;
  const frames = options.frames ?? 60;
  if (width % 2 !== 0 || height % 2 !== 0 || width <= 0 || height <= 0) {
    throw new RangeError(
      `Cannot write video as 'width' and 'height' must be even and positive: current value is ${width}x${height}`,
    );
  }
  const encoder = new TextEncoder();
  const header = encoder.encode(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
  const marker = encoder.encode("FRAME\n");
  const frame = new Uint8Array(width * height * 1.5);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let written = 0;
  try {
    written += await writeAll(file, header);
    for (let i = 0; i < frames; i++) {
      fillGrainFrame(frame, i, { ...options, width, height, frames });
      written += await writeAll(file, marker);
      written += await writeAll(file, frame);
    }
  } finally {
    file.close();
  }
  return written;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<number> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
  return bytes.length;
}

let table: Float64Array | undefined;
function sineTable(): Float64Array {
  if (table) return table;
  table = new Float64Array(TABLE_SIZE);
  for (let i = 0; i < TABLE_SIZE; i++) table[i] = Math.sin((2 * Math.PI * i) / TABLE_SIZE);
  return table;
}
