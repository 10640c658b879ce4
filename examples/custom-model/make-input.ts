/**
 * Writes examples/custom-model/input.json: one 300x200 red-ish gradient PNG as a V1 b64 instance.
 * The output is committed; re-run with `npx tsx examples/custom-model/make-input.ts` (deterministic).
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

export const WIDTH = 300;
export const HEIGHT = 200;

/** Red-ish: red rises left to right, green rises top to bottom, a little constant blue. */
export function gradientPixels(width = WIDTH, height = HEIGHT): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      px[i] = 160 + Math.round((95 * x) / (width - 1));
      px[i + 1] = 20 + Math.round((80 * y) / (height - 1));
      px[i + 2] = 40;
    }
  }
  return px;
}

export async function gradientPng(): Promise<Buffer> {
  return sharp(gradientPixels(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer();
}

async function main(): Promise<void> {
  const png = await gradientPng();
  const body = { instances: [{ image: { b64: png.toString("base64") } }] };
  const out = fileURLToPath(new URL("./input.json", import.meta.url));
  const text = `${JSON.stringify(body, null, 2)}\n`;
  await writeFile(out, text);
  console.log(`wrote ${out}: ${WIDTH}x${HEIGHT} PNG, ${png.byteLength} bytes, ${text.length} bytes of JSON`);
}

// Only when run as a script, so tests can import the generator.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
