/**
 * Writes examples/iris/input-v2.bin: the two rows of input.json as a V2 request using the binary tensor
 * extension (a JSON header, then the FP32 values as raw little-endian bytes). Prints the header length
 * for the Inference-Header-Content-Length header. Re-run with `npx tsx examples/iris/make-binary-input.ts`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export async function binaryRequest(): Promise<{ body: Buffer; headerLength: number }> {
  const { instances } = JSON.parse(await readFile(new URL("./input.json", import.meta.url), "utf8")) as {
    instances: number[][];
  };
  const values = new Float32Array(instances.flat());
  const header = JSON.stringify({
    inputs: [
      {
        name: "input",
        shape: [instances.length, instances[0].length],
        datatype: "FP32",
        parameters: { binary_data_size: values.byteLength },
      },
    ],
  });
  const data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const head = Buffer.from(header, "utf8");
  return { body: Buffer.concat([head, data]), headerLength: head.byteLength };
}

async function main(): Promise<void> {
  const { body, headerLength } = await binaryRequest();
  const out = fileURLToPath(new URL("./input-v2.bin", import.meta.url));
  await writeFile(out, body);
  console.log(
    `wrote ${out}: ${body.byteLength} bytes; send it with -H 'Inference-Header-Content-Length: ${headerLength}'`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
