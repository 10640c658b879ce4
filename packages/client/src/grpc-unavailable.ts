/**
 * The browser and edge bundle's stand-in for the gRPC client: @grpc/grpc-js needs Node's sockets, so outside Node
 * the class exists (the same exports everywhere) but says what to use instead.
 */
import { Unsupported } from "../../server/src/errors/index.ts";

export class InferenceGRPCClient {
  constructor() {
    throw new Unsupported(
      "InferenceGRPCClient needs Node.js (@grpc/grpc-js); in browsers and edge runtimes use InferenceRESTClient",
    );
  }
}
