/** How V1 and V2 requests reach a Seldon component's predict, and how its SeldonMessage answers go back. */
import { dataToArray, NDArray, type SeldonMessage } from "../../protocol/seldon/index.ts";
import type { Tensor } from "../../tensor/index.ts";

/** A V2 input tensor as the message Seldon's predict would receive: numbers as data.tensor, the rest as ndarray. */
export function tensorToMessage(input: Tensor): SeldonMessage {
  const values = Array.from(input.data as ArrayLike<unknown>, (v) =>
    typeof v === "bigint" ? Number(v) : v instanceof Uint8Array ? Buffer.from(v).toString("utf8") : v,
  );
  const arr = new NDArray(values.every((v) => typeof v === "number") ? Float64Array.from(values as number[]) : values, input.shape);
  return arr.isNumeric
    ? { data: { names: [], tensor: { shape: arr.shape, values: Array.from(arr.data as Float64Array) } } }
    : { data: { ndarray: arr.toArray() } };
}

/** The answer's payload as a plain JS value (for V1's predictions). */
export function answerValue(answer: SeldonMessage): unknown {
  if (answer.data) return dataToArray(answer.data).toArray();
  if (answer.strData !== undefined) return answer.strData;
  if (answer.binData !== undefined) return { b64: answer.binData };
  return answer.jsonData;
}

/** `floatInput`: a float request gets float answers, even when the values happen to be whole numbers. */
export function answerTensor(answer: SeldonMessage, floatInput = false): Tensor {
  if (answer.data) {
    const arr = dataToArray(answer.data);
    if (arr.isNumeric) {
      const isInt = arr.dtype === "int64" && !floatInput;
      return { name: "output-0", datatype: isInt ? "INT64" : "FP64", shape: arr.shape, data: isInt ? BigInt64Array.from(arr.data as Float64Array, (v) => BigInt(v)) : (arr.data as Float64Array) };
    }
    if (arr.dtype === "bool") return { name: "output-0", datatype: "BOOL", shape: arr.shape, data: Uint8Array.from(arr.data as boolean[], (b) => (b ? 1 : 0)) };
    return { name: "output-0", datatype: "BYTES", shape: arr.shape, data: (arr.data as unknown[]).map((v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v))) };
  }
  const text = answer.strData ?? (answer.binData !== undefined ? undefined : JSON.stringify(answer.jsonData));
  const bytes = text !== undefined ? Buffer.from(text) : Buffer.from(answer.binData ?? "", "base64");
  return { name: "output-0", datatype: "BYTES", shape: [1], data: [bytes] };
}

