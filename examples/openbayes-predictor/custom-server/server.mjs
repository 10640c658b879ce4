// Your own HTTP server, any framework, any routes: tserve proxies every request on its port to it.
import { createServer } from "node:http";

const port = Number(process.env.PORT);

createServer((req, res) => {
  if (req.method === "GET" && req.url === "/") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "custom server up", port_from_env: "PORT" in process.env }));
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const words = Buffer.concat(chunks).toString("utf8").split(/\s+/).filter(Boolean);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ path: req.url, words: words.length, longest: words.sort((a, b) => b.length - a.length)[0] ?? null }));
  });
}).listen(port, "127.0.0.1", () => console.log(`custom server on port ${port}`));
