import Fastify from "fastify";
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
const canned = '{"predictions":[[0.0076,0.6284,0.3639],[0.0081,0.6434,0.3485]]}';
app.post("/v1/models/*", async (req, reply) => { JSON.parse(req.body.toString()); return reply.code(200).header("content-type","application/json").send(canned); });
await app.listen({ port: 18191, host: "127.0.0.1" });
