/**
 * Image preprocessing for the custom-model example, torchvision style:
 * Resize(256) -> CenterCrop(224) -> ToTensor() -> Normalize(ImageNet mean/std), as a float32 NCHW tensor.
 */
import sharp, { type OutputInfo } from "sharp";
import { InvalidInput } from "../../packages/server/src/index.ts";

export const RESIZE = 256;
export const CROP = 224;
export const MEAN = [0.485, 0.456, 0.406] as const;
export const STD = [0.229, 0.224, 0.225] as const;
/** Elements in one preprocessed image: 3 x 224 x 224. */
export const IMAGE_SIZE = 3 * CROP * CROP;

// Standard (+/) or URL-safe (-_) alphabet, padding optional; whitespace is stripped before the check.
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/**
 * Strict base64 decoding. Node's `Buffer.from(s, "base64")` silently skips characters it does not know,
 * which would turn a typo into a confusing "unsupported image format" error; this reports the real problem.
 */
export function decodeBase64(value: string, where: string): Buffer {
  const compact = value.replace(/\s+/g, "");
  if (compact.length === 0) throw new InvalidInput(`${where} is empty; expected a base64-encoded image`);
  if (!BASE64.test(compact) || compact.length % 4 === 1) {
    throw new InvalidInput(`${where} is not valid base64`);
  }
  return Buffer.from(compact, "base64");
}

/**
 * Decodes an encoded image (PNG, JPEG, WebP, GIF, TIFF, AVIF...) into normalized float32 CHW data.
 * Shorter side resized to 256 (bilinear, like torchvision's Resize(256)), then the centre 224 x 224,
 * alpha dropped and greyscale expanded to RGB, then `(pixel / 255 - mean) / std` per channel.
 * Undecodable bytes throw InvalidInput (a 400), not a 500.
 */
export async function imageToTensor(bytes: Uint8Array, where = "image"): Promise<Float32Array> {
  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await sharp(bytes, { failOn: "error" })
      .removeAlpha()
      .toColourspace("srgb")
      // "outside" keeps the aspect ratio and makes both sides >= 256, i.e. the shorter side exactly 256.
      .resize(RESIZE, RESIZE, { fit: "outside", kernel: "linear" })
      .raw()
      .toBuffer({ resolveWithObject: true }));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InvalidInput(`${where} could not be decoded as an image: ${reason}`, { cause: err });
  }
  const { width, height, channels } = info;
  if (channels !== 3 || width < CROP || height < CROP) {
    throw new InvalidInput(`${where} decoded to ${width}x${height}x${channels}, expected RGB at least ${CROP}x${CROP}`);
  }
  // torchvision's CenterCrop rounds the offsets the same way.
  const top = Math.round((height - CROP) / 2);
  const left = Math.round((width - CROP) / 2);
  const out = new Float32Array(IMAGE_SIZE);
  const plane = CROP * CROP;
  for (let y = 0; y < CROP; y++) {
    let src = ((top + y) * width + left) * 3;
    const row = y * CROP;
    for (let x = 0; x < CROP; x++, src += 3) {
      const dst = row + x;
      out[dst] = (data[src] / 255 - MEAN[0]) / STD[0];
      out[plane + dst] = (data[src + 1] / 255 - MEAN[1]) / STD[1];
      out[2 * plane + dst] = (data[src + 2] / 255 - MEAN[2]) / STD[2];
    }
  }
  return out;
}

/** Stacks preprocessed images into one [N, 3, 224, 224] batch. */
export function stackBatch(images: readonly Float32Array[]): Float32Array {
  const batch = new Float32Array(images.length * IMAGE_SIZE);
  images.forEach((img, i) => {
    batch.set(img, i * IMAGE_SIZE);
  });
  return batch;
}

/** Row-wise softmax over `[rows, cols]` logits (max-subtracted for stability). */
export function softmax(logits: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, logits[base + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += out[base + c] = Math.exp(logits[base + c] - max);
    for (let c = 0; c < cols; c++) out[base + c] /= sum;
  }
  return out;
}

/** Indices of the k largest values of one row, largest first (ties: lower index first). */
export function topK(row: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: row.length }, (_, i) => i)
    .sort((a, b) => row[b] - row[a] || a - b)
    .slice(0, k);
}
